import XCTest
final class PlaceholderTensorMathTests: XCTestCase {}
