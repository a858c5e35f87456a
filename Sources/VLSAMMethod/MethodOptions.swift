/// The options of attention extraction and point sampling, named as in
/// `docs/vl-sam-method.md` (../shared/docs); each enum's first case is the method's default.

/// How attention is propagated through the layers (§4).
public enum FlowKind: String, CaseIterable, Codable, Sendable {
    /// Attention rollout with the residual mixed in: R = Ã[L-1] · … · Ã[0].
    case rollout
    /// R = mean over layers of Ã[l], no propagation.
    case mean
}

/// Counter-weight to causal collapse, applied once to the final flow row (§5).
public enum Regularization: String, CaseIterable, Codable, Sendable {
    /// r[j] = (j + 1) / T.
    case column
    case none
}

/// Which query rows stand for an object (§6).
public enum QueryRows: String, CaseIterable, Codable, Sendable {
    /// predicting ∪ token.
    case both
    /// p − 1 for every answer position p of the name: the rows that chose its tokens.
    case predicting
    /// p: the name's own tokens.
    case token
}

/// Which image tiles make the map when the image was split (§7).
public enum TileSelection: String, CaseIterable, Codable, Sendable {
    case both
    case local
    case global
}

/// How points are drawn from a map (§8).
public enum SamplingStrategy: String, CaseIterable, Codable, Sendable {
    case vlSAM = "vl-sam"
    case localMaxima = "local-maxima"
    case kmeans
    case random
}
