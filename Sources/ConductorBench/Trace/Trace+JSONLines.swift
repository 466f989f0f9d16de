import ComfyWire

/// A trace line that could not be read.
public struct TraceFormatError: Error, Sendable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "trace line \(line): \(message)" }
}

extension Trace {
    /// The trace as JSON lines: one object per job, `{"id":0,"arrival":0.5,"checkpoint":"ckpt-1","work":3.2,"client":"c1"}`.
    ///
    /// `comment` lines (e.g. the generator and seed) are written first, each prefixed with `# `.
    public func jsonLines(comment: [String] = []) -> String {
        var out = ""
        for line in comment { out += "# \(line)\n" }
        for job in jobs {
            var object: JSONObject = [
                "id": .int(job.id), "arrival": .double(job.arrival), "checkpoint": .string(orNull: job.checkpoint),
                "work": .double(job.work), "client": .string(job.client)
            ]
            if let lora = job.lora { object["lora"] = .string(lora) }
            out += JSONValue.object(object).jsonString(.compact) + "\n"
        }
        return out
    }

    /// Reads JSON lines; blank lines and lines starting with `#` are skipped. `arrival` and `work` are required;
    /// `id` defaults to the job's position, `checkpoint` and `lora` to none, `client` to "client-1".
    public init(jsonLines text: String) throws(TraceFormatError) {
        var jobs: [TraceJob] = []
        var number = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let line = raw.drop { $0 == " " || $0 == "\t" || $0 == "\r" }
            if line.isEmpty || line.first == "#" { continue }
            let value: JSONValue
            do { value = try JSONValue(parsing: String(line)) } catch {
                throw TraceFormatError(line: number, message: error.description)
            }
            guard case .object(let object) = value else {
                throw TraceFormatError(line: number, message: "not a JSON object")
            }
            guard let arrival = object["arrival"]?.numberValue?.double, arrival.isFinite, arrival >= 0 else {
                throw TraceFormatError(line: number, message: "missing or invalid \"arrival\" (seconds ≥ 0)")
            }
            guard let work = object["work"]?.numberValue?.double, work.isFinite, work > 0 else {
                throw TraceFormatError(line: number, message: "missing or invalid \"work\" (units > 0)")
            }
            jobs.append(
                TraceJob(
                    id: object["id"]?.numberValue?.int ?? jobs.count, arrival: arrival,
                    checkpoint: object["checkpoint"]?.stringValue, work: work,
                    client: object["client"]?.stringValue ?? "client-1", lora: object["lora"]?.stringValue))
        }
        self.init(jobs: jobs)
    }
}
