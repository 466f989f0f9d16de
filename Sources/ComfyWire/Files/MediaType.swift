/// The media type of a ComfyUI file by its extension: what `/view` answers with and what an upload
/// declares. Active types (HTML, JavaScript, CSS) are served as octet-stream, as aiohttp does on `/view`.
public enum MediaType {
    public static func of(filename: String) -> String {
        let ext = filename.split(separator: ".").count > 1 ? String(filename.split(separator: ".").last!).lowercased() : ""
        switch ext {
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "webp": return "image/webp"
        case "gif": return "image/gif"
        case "mp4": return "video/mp4"
        case "webm": return "video/webm"
        case "wav": return "audio/wav"
        case "mp3": return "audio/mpeg"
        case "flac": return "audio/flac"
        case "json": return "application/json"
        case "txt": return "text/plain"
        case "svg": return "image/svg+xml"
        default: return "application/octet-stream"
        }
    }
}
