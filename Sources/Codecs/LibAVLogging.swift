internal import CFFmpeg

/// libav* logs to stderr at "info" by default: x264 prints its whole option string and per-stream statistics for
/// every encoder opened and closed, which would flood a server's log with a line per viewer layer. Only errors are
/// kept; LiveRelay reports failures itself through `TranscodeError`.
enum LibAVLogging {
    /// Set once, before the first codec is opened (a global of the process, hence lazily initialised once).
    static let errorsOnly: Void = {
        av_log_set_level(AV_LOG_ERROR)
    }()
}
