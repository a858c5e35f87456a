import XCTest
final class PlaceholderCheckpointsTests: XCTestCase {}
