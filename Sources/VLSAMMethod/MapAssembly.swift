/// Places an object's image-token values on the image (§7). Each tile's tokens form its
/// gridSide × gridSide grid; the crops of a split image form a rows × cols mosaic, the global image
/// its own grid.
public struct MapAssembly: Sendable {
    /// Per tile, its (row, col) in the crop mosaic; nil for the global image.
    public let tileGrid: [(row: Int, col: Int)?]
    /// Per image token (in `image_token_positions` order): its tile and its (row, col) cell.
    public let tokenTiles: [Int]
    public let tokenCells: [(row: Int, col: Int)]
    public let gridSide: Int
    /// Crop rows and columns of the mosaic; 0 × 0 without crops.
    public let mosaicRows: Int, mosaicCols: Int

    public init(tileGrid: [(row: Int, col: Int)?], tokenTiles: [Int], tokenCells: [(row: Int, col: Int)], gridSide: Int = 8) {
        precondition(tokenTiles.count == tokenCells.count, "MapAssembly: \(tokenTiles.count) tiles for \(tokenCells.count) cells")
        precondition(tokenTiles.allSatisfy { tileGrid.indices.contains($0) }, "MapAssembly: token tile outside 0..<\(tileGrid.count)")
        precondition(tokenCells.allSatisfy { (0..<gridSide).contains($0.row) && (0..<gridSide).contains($0.col) },
                     "MapAssembly: token cell outside the \(gridSide) × \(gridSide) grid")
        self.tileGrid = tileGrid
        self.tokenTiles = tokenTiles
        self.tokenCells = tokenCells
        self.gridSide = gridSide
        let crops = tileGrid.compactMap { $0 }
        mosaicRows = (crops.map(\.row).max() ?? -1) + 1
        mosaicCols = (crops.map(\.col).max() ?? -1) + 1
    }

    /// M_local: the crops' values as a (gridSide · rows) × (gridSide · cols) mosaic; nil without crops.
    public func mosaic(_ values: [Float]) -> AttentionMap? {
        guard mosaicRows > 0 else { return nil }
        var map = AttentionMap(zerosHeight: gridSide * mosaicRows, width: gridSide * mosaicCols)
        place(values, into: &map) { tile in tileGrid[tile] }
        return map
    }

    /// M_global: the global image's values on its grid; nil when there is no global tile.
    public func globalGrid(_ values: [Float]) -> AttentionMap? {
        guard tileGrid.contains(where: { $0 == nil }) else { return nil }
        var map = AttentionMap(zerosHeight: gridSide, width: gridSide)
        place(values, into: &map) { tile in tileGrid[tile] == nil ? (0, 0) : nil }
        return map
    }

    /// The object's grid map in [0, 1]. Split: tiles=both is minmax(0.5 · minmax(M_local) +
    /// 0.5 · up(minmax(M_global))), the global grid resized to the mosaic's size; tiles=local the
    /// normalised mosaic; tiles=global the normalised global grid at its own size. Unsplit (or
    /// when one of the two is missing) the one grid there is, normalised.
    public func map(_ values: [Float], tiles: TileSelection = .both) -> AttentionMap {
        let local = mosaic(values)?.minMaxNormalised(), global = globalGrid(values)?.minMaxNormalised()
        switch (local, global, tiles) {
        case (let local?, let global?, .both):
            let up = global.resized(height: local.height, width: local.width)
            let mean = zip(local.values, up.values).map { 0.5 * $0 + 0.5 * $1 }
            return AttentionMap(height: local.height, width: local.width, values: mean).minMaxNormalised()
        case (let local?, _, .local), (let local?, nil, _):
            return local
        case (_, let global?, _):
            return global
        case (nil, nil, _):
            preconditionFailure("MapAssembly: no tiles")
        }
    }

    private func place(_ values: [Float], into map: inout AttentionMap, origin: (Int) -> (row: Int, col: Int)?) {
        precondition(values.count == tokenTiles.count, "MapAssembly: \(values.count) values for \(tokenTiles.count) image tokens")
        for (index, value) in values.enumerated() {
            guard let tile = origin(tokenTiles[index]) else { continue }
            let cell = tokenCells[index]
            map[gridSide * tile.row + cell.row, gridSide * tile.col + cell.col] = value
        }
    }
}
