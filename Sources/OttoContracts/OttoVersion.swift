/// This Otto's version, reported by `otto --version`, `ottoctl --version` and the status API, and compared by
/// `ottoctl doctor` (a different `otto` than `ottoctl` is worth a warning).
public enum OttoVersion {
    public static let current = "0.18.0"
}
