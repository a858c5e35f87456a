import XCTest
final class PlaceholderArtifactsTests: XCTestCase {}
