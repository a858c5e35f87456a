/// The weight of a bias-free linear map, [out, in]: float32, 16-bit floats as the checkpoint
/// ships them, or quantised blocks; the kernels compute on each directly. Models hold this
/// instead of a `Tensor` so one model definition runs on any kind of checkpoint.
public enum MatrixWeights: Sendable {
    case dense(Tensor)
    case halfPrecision(HalfPrecisionTensor)
    case quantized(QuantizedMatrix)

    public var outFeatures: Int {
        switch self {
        case .dense(let weight): return weight.shape[0]
        case .halfPrecision(let matrix): return matrix.rows
        case .quantized(let matrix): return matrix.rows
        }
    }

    public var inFeatures: Int {
        switch self {
        case .dense(let weight): return weight.shape[1]
        case .halfPrecision(let matrix): return matrix.columns
        case .quantized(let matrix): return matrix.columns
        }
    }

    /// x·Wᵀ over the last dimension of `x`: [..., in] → [..., out].
    public func apply(to x: Tensor, activations: ActivationPrecision = .float32) -> Tensor {
        projectSideBySide(x, [self], activations: activations)
    }

    /// Writes row `index` (an embedding lookup) as `inFeatures` floats.
    public func copyRow(_ index: Int, into destination: UnsafeMutablePointer<Float>) {
        switch self {
        case .dense(let weight):
            weight.data.withUnsafeBufferPointer { w in
                destination.update(from: w.baseAddress! + index * weight.shape[1], count: weight.shape[1])
            }
        case .halfPrecision(let matrix):
            matrix.widenRows(index ..< index + 1, into: destination)
        case .quantized(let matrix):
            matrix.dequantizeRows(index ..< index + 1, into: destination)
        }
    }

    /// The matrix whose row i is this one's row `order[i]`.
    public func permutingRows(_ order: [Int]) -> MatrixWeights {
        switch self {
        case .dense(let weight):
            return .dense(Tensor(shape: weight.shape) { out in
                weight.data.withUnsafeBufferPointer { copyRows(order, width: weight.shape[1], from: $0.baseAddress!, to: out.baseAddress!) }
            })
        case .halfPrecision(let matrix):
            return .halfPrecision(matrix.permutingRows(order))
        case .quantized(let matrix):
            return .quantized(matrix.permutingRows(order))
        }
    }
}

/// x·Wᵢᵀ for several matrices that share their input, side by side in one output
/// [..., Σ outᵢ] (a layer's q, k and v projections, say). All of them run in one parallel pass,
/// which for a single token (decoding) costs one thread hand-off instead of one per matrix.
///
/// One token: every matrix's rows are split into chunks over the threads; float32 and 16-bit
/// chunks go through one matrix–vector kernel (`multiplyRows`, which widens 16-bit weights in
/// registers); with `.blockInt8`, quantised chunks are multiplied straight from their blocks by
/// integer dot products. Otherwise (and for several tokens) float32 matrices go through sgemm,
/// 16-bit ones through the same sgemm call on a widened copy in reused scratch (so both give the
/// same bits), and quantised ones are dequantised a chunk of rows at a time into per-thread
/// scratch (which stays in cache) and multiplied by sgemm from there, so no float32 copy of the
/// matrix ever exists.
public func projectSideBySide(_ x: Tensor, _ matrices: [MatrixWeights], activations: ActivationPrecision = .float32) -> Tensor {
    let inputs = x.shape.last ?? 0, tokens = inputs == 0 ? 0 : x.count / inputs
    precondition(matrices.allSatisfy { $0.inFeatures == inputs }, "projectSideBySide: input \(x.shape) vs matrices")
    let width = matrices.reduce(0) { $0 + $1.outFeatures }
    var columnStarts: [Int] = [], start = 0
    for matrix in matrices {
        columnStarts.append(start)
        start += matrix.outFeatures
    }
    var shape = x.shape
    shape[shape.count - 1] = width
    return Tensor(shape: shape) { out in
        guard tokens > 0 else { return }
        x.data.withUnsafeBufferPointer { input in
            let plan = ProjectionPlan(matrices: matrices, columnStarts: columnStarts, inputs: inputs, width: width,
                                      x: input.baseAddress!, out: out.baseAddress!)
            if tokens == 1 { plan.vectorProducts(activations) } else { plan.matrixProducts(tokens: tokens) }
        }
    }
}

/// One call of `projectSideBySide`: where each matrix's columns go in the output.
private struct ProjectionPlan {
    let matrices: [MatrixWeights]
    let columnStarts: [Int]
    let inputs: Int, width: Int
    let x: UnsafePointer<Float>
    let out: UnsafeMutablePointer<Float>

    /// Row ranges of `rowsPerChunk` (the last shorter) over every matrix selected by `include`.
    func chunks(rowsPerChunk: Int, include: (MatrixWeights) -> Bool) -> [(matrix: Int, rows: Range<Int>)] {
        var result: [(matrix: Int, rows: Range<Int>)] = []
        for (index, matrix) in matrices.enumerated() where include(matrix) {
            for first in stride(from: 0, to: matrix.outFeatures, by: rowsPerChunk) {
                result.append((index, first ..< min(first + rowsPerChunk, matrix.outFeatures)))
            }
        }
        return result
    }

    func vectorProducts(_ activations: ActivationPrecision) {
        // About 64k multiply-adds per chunk: enough to repay a thread hand-off, small enough
        // that a core slowed by other work does not hold the rest back.
        let rowsPerChunk = max(16, (1 << 16) / max(inputs, 1) / 16 * 16)
        let work = chunks(rowsPerChunk: rowsPerChunk) { _ in true }
        let hasQuantized = matrices.contains { if case .quantized = $0 { true } else { false } }
        let quantizedX = activations == .blockInt8 && hasQuantized ? BlockQuantizedVector(x, count: inputs) : nil
        // Scratch only for dequantising: a large allocation per product would cost more than the product.
        let scratchRows = hasQuantized && quantizedX == nil ? rowsPerChunk : 0
        withDequantizationScratch(rowsPerChunk: scratchRows, chunks: work.count) { scratch in
            parallelFor(work.count) { worker, item in
                let (index, rows) = work[item]
                let destination = out + columnStarts[index] + rows.lowerBound
                switch matrices[index] {
                case .dense(let weight):
                    weight.data.withUnsafeBufferPointer { w in
                        multiplyRows(Float32Elements.self, w.baseAddress! + rows.lowerBound * inputs, rows: rows.count,
                                     columns: inputs, vector: x, into: destination)
                    }
                case .halfPrecision(let matrix):
                    matrix.multiplyRows(rows, vector: x, into: destination)
                case .quantized(let matrix):
                    if let quantizedX {
                        matrix.multiplyRows(rows, by: quantizedX, into: destination)
                    } else {
                        dequantizedProduct(matrix, rows: rows, tokens: 1, scratch: scratch(worker), into: destination)
                    }
                }
            }
        }
    }

    func matrixProducts(tokens: Int) {
        for (index, matrix) in matrices.enumerated() {
            let product = { (w: UnsafePointer<Float>) in
                gemm(transB: true, m: tokens, n: matrix.outFeatures, k: inputs,
                     a: x, lda: inputs, b: w, ldb: inputs, c: out + columnStarts[index], ldc: width)
            }
            switch matrix {
            case .dense(let weight): weight.data.withUnsafeBufferPointer { product($0.baseAddress!) }
            case .halfPrecision(let weight): weight.withWidened(product)
            case .quantized: continue
            }
        }
        let rowsPerChunk = 128
        let work = chunks(rowsPerChunk: rowsPerChunk) { if case .quantized = $0 { return true } else { return false } }
        guard !work.isEmpty else { return }
        withDequantizationScratch(rowsPerChunk: rowsPerChunk, chunks: work.count) { scratch in
            parallelFor(work.count) { worker, item in
                let (index, rows) = work[item]
                guard case .quantized(let matrix) = matrices[index] else { return }
                dequantizedProduct(matrix, rows: rows, tokens: tokens, scratch: scratch(worker),
                                   into: out + columnStarts[index] + rows.lowerBound)
            }
        }
    }

    /// Calls `body` with a function that gives each worker room for `rowsPerChunk` float32 rows.
    private func withDequantizationScratch(rowsPerChunk: Int, chunks: Int,
                                           _ body: ((Int) -> UnsafeMutablePointer<Float>) -> Void) {
        let scratchSize = rowsPerChunk * inputs, scratchCount = min(chunks, computeThreads()) * scratchSize
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(scratchCount, 1)) { scratch in
            body { scratch.baseAddress! + $0 * scratchSize }
        }
    }

    /// x·Wᵀ for `rows` of a quantised matrix, dequantised into `scratch` and multiplied by sgemm.
    private func dequantizedProduct(_ matrix: QuantizedMatrix, rows: Range<Int>, tokens: Int,
                                    scratch: UnsafeMutablePointer<Float>, into destination: UnsafeMutablePointer<Float>) {
        matrix.dequantizeRows(rows, into: scratch)
        singleThreadedGEMM(transB: true, m: tokens, n: rows.count, k: inputs,
                           a: x, lda: inputs, b: scratch, ldb: inputs, c: destination, ldc: width)
    }
}

/// Row i of `destination` becomes row `order[i]` of `source`, rows being `width` elements.
func copyRows<Element>(_ order: [Int], width: Int, from source: UnsafePointer<Element>, to destination: UnsafeMutablePointer<Element>) {
    for (row, from) in order.enumerated() {
        (destination + row * width).update(from: source + from * width, count: width)
    }
}
