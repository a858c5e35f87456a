import TensorMath

/// A strided window onto a typed storage, as a tensor view describes it (all in elements).
struct StridedLayout {
    let offset: Int
    let shape: [Int]
    let strides: [Int]

    /// Row-major strides; wrapping arithmetic because `elementCount` is what validates a shape.
    static func contiguous(_ shape: [Int]) -> StridedLayout {
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in stride(from: shape.count - 2, through: 0, by: -1) {
            strides[axis] = strides[axis + 1] &* shape[axis + 1]
        }
        return StridedLayout(offset: 0, shape: shape, strides: strides)
    }

    /// The element count, or nil when a size is negative, the ranks differ, or it overflows.
    var elementCount: Int? {
        guard shape.count == strides.count, offset >= 0 else { return nil }
        var count = 1
        for size in shape {
            guard size >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    /// One past the highest storage element the view touches (0 for an empty view),
    /// or nil when a stride is negative or the arithmetic overflows.
    var storageExtent: Int? {
        guard let count = elementCount else { return nil }
        if count == 0 { return 0 }
        var last = offset
        for (size, stride) in zip(shape, strides) {
            guard stride >= 0 else { return nil }
            let (reach, overflow) = (size - 1).multipliedReportingOverflow(by: stride)
            guard !overflow else { return nil }
            let (sum, overflowSum) = last.addingReportingOverflow(reach)
            guard !overflowSum else { return nil }
            last = sum
        }
        return last + 1
    }

    /// The same view with size-1 axes dropped and axes that step through memory as one merged,
    /// so a contiguous or plainly sliced view becomes one or a few long runs.
    var simplified: (shape: [Int], strides: [Int]) {
        var shape: [Int] = []
        var strides: [Int] = []
        for (size, stride) in zip(self.shape, self.strides) where size != 1 {
            if let lastStride = strides.last, lastStride == stride * size {
                shape[shape.count - 1] *= size
                strides[strides.count - 1] = stride
            } else {
                shape.append(size)
                strides.append(stride)
            }
        }
        return (shape, strides)
    }
}

/// Copies a view of a typed storage into a new contiguous Float tensor. The caller has checked
/// that `layout.storageExtent` fits inside `storage`.
func materializeTensor(_ type: ElementType, storage: UnsafeRawBufferPointer, layout: StridedLayout) -> Tensor {
    Tensor(shape: layout.shape) { output in
        // An empty view copies nothing, and its strides were never checked (its storage extent
        // is 0 whatever they are), so they must not reach `simplified`'s arithmetic.
        guard !output.isEmpty, let destination = output.baseAddress, let source = storage.baseAddress else { return }
        let (shape, strides) = layout.simplified
        guard let runLength = shape.last, let runStride = strides.last else {
            convertElements(type, from: source, start: layout.offset, stride: 1, count: 1, into: destination)
            return
        }
        // Walk the outer axes like an odometer; each position starts one run along the last axis.
        let outerAxes = shape.count - 1
        var index = [Int](repeating: 0, count: outerAxes)
        var start = layout.offset
        var written = 0
        while written < output.count {
            convertElements(type, from: source, start: start, stride: runStride, count: runLength,
                            into: destination + written)
            written += runLength
            var axis = outerAxes - 1
            while axis >= 0 {
                index[axis] += 1
                start += strides[axis]
                if index[axis] < shape[axis] { break }
                start -= strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}
