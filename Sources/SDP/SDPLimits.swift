/// Bounds checked before any parsing work, so a hostile body costs at most one short, bounded pass.
/// A browser offer with every codec is about 6 KiB and 250 lines; the limits leave a wide margin.
public enum SDPLimits {
    public static let maxBytes = 64 * 1024
    public static let maxLines = 4096
    public static let maxMediaSections = 32
    public static let maxLineLength = 4096
}
