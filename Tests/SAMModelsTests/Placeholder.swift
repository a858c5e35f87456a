import XCTest
final class PlaceholderSAMModelsTests: XCTestCase {}
