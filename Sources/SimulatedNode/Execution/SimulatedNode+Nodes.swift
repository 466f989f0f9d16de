import ComfyWire
import Foundation

/// What one node produced.
struct NodeResult {
    var outputs: [SimValue]
    var ui: JSONValue? = nil
    /// Steps reported through `progress`, for the final `progress_state`.
    var steps: Int? = nil
}

extension SimulatedNode {
    /// Runs one node's simulated behaviour; `progress(step, total, preview)` reports sampler steps.
    func run(
        _ nodeClass: NodeClass, node: PromptGraph.Node, graph: PromptGraph, values: [String: [SimValue]],
        item: QueueItem, generation: Int, progress: (Int, Int, Bool) -> Void
    ) async throws -> NodeResult {
        func input(_ name: String) -> SimValue? {
            guard let value = node.inputs[name], case .link(let source, let slot) = PromptGraph.Input(value),
                let outputs = values[source], slot >= 0, slot < outputs.count
            else { return nil }
            return outputs[slot]
        }
        func literal(_ name: String) -> JSONValue? {
            guard let value = node.inputs[name], case .literal(let literal) = PromptGraph.Input(value) else { return nil }
            return literal
        }
        func int(_ name: String, _ fallback: Int) -> Int { literal(name)?.intValue ?? fallback }
        func images(_ name: String) throws -> [RasterImage] {
            guard case .images(let images)? = input(name) else {
                throw NodeStop.failed(type: "TypeError", message: "'\(name)' is not an image")
            }
            return images
        }
        func checkInterrupt() throws {
            if self.generation != generation { throw NodeStop.abandoned }
            if interruptRequested { throw NodeStop.interrupted }
        }
        try checkInterrupt()

        guard let behaviour = catalog.behaviour(of: nodeClass.name) else {
            throw NodeStop.failed(type: "NotImplementedError", message: "\(nodeClass.name) is not simulated")
        }
        switch behaviour {
        case .loadCheckpoint:
            let name = literal("ckpt_name")?.stringValue ?? ""
            return NodeResult(outputs: [.model(checkpoint: name, loras: []), .clip, .vae])
        case .loadLora:
            guard case .model(let checkpoint, let loras)? = input("model") else {
                throw NodeStop.failed(type: "TypeError", message: "model is not a MODEL")
            }
            let lora = literal("lora_name")?.stringValue ?? ""
            return NodeResult(outputs: [.model(checkpoint: checkpoint, loras: loras + [lora]), .clip])
        case .loadVAE:
            return NodeResult(outputs: [.vae])
        case .encodeText:
            return NodeResult(outputs: [.conditioning(literal("text")?.stringValue ?? "")])
        case .emptyLatent:
            return NodeResult(outputs: [
                .latent(
                    width: int("width", 512), height: int("height", 512),
                    batch: int("batch_size", 1), seed: 0)
            ])
        case .sample:
            guard case .model(let checkpoint, let loras)? = input("model"),
                case .latent(let width, let height, let batch, _)? = input("latent_image")
            else { throw NodeStop.failed(type: "TypeError", message: "KSampler needs a MODEL and a LATENT") }
            var loadSeconds = 0.0
            do {
                let size = profile.checkpoints.first { $0.name == checkpoint }?.sizeBytes ?? 2_000_000_000
                loadSeconds += try gpu.load(checkpoint, sizeBytes: size)
                for lora in loras {
                    loadSeconds += try gpu.load(lora, sizeBytes: profile.loras.first { $0.name == lora }?.sizeBytes ?? 100_000_000)
                }
            } catch {
                throw NodeStop.failed(type: "torch.OutOfMemoryError", message: "Allocation on device")
            }
            guard await pause(simulatedSeconds: loadSeconds, generation: generation) else { throw NodeStop.abandoned }
            let steps = max(1, int("steps", 20))
            let stepCost = profile.checkpoints.first { $0.name == checkpoint }?.stepCost ?? 1
            let perStep = Double(width * height) / Double(512 * 512) * Double(batch) * stepCost / profile.speed
            for step in 1...steps {
                guard await pause(simulatedSeconds: perStep, generation: generation) else { throw NodeStop.abandoned }
                try checkInterrupt()
                progress(step, steps, step % profile.previewEverySteps == 0)
            }
            let seed = literal("seed")?.numberValue?.uint64 ?? UInt64(truncatingIfNeeded: literal("seed")?.intValue ?? 0)
            return NodeResult(outputs: [.latent(width: width, height: height, batch: batch, seed: seed)], steps: steps)
        case .decode:
            guard case .latent(let width, let height, let batch, let seed)? = input("samples") else {
                throw NodeStop.failed(type: "TypeError", message: "VAEDecode needs a LATENT")
            }
            guard
                await pause(
                    simulatedSeconds: 0.05 * Double(width * height) / Double(512 * 512) / profile.speed,
                    generation: generation)
            else { throw NodeStop.abandoned }
            let decoded = (0..<batch).map { RasterImage.pattern(width: width, height: height, seed: seed &+ UInt64($0)) }
            return NodeResult(outputs: [.images(decoded)])
        case .saveImage:
            return try save(try images("images"), prefix: literal("filename_prefix")?.stringValue ?? "ComfyUI", kind: .output, item: item)
        case .previewImage:
            let letters = String((0..<5).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement()! })
            return try save(try images("images"), prefix: "ComfyUI_temp_\(letters)", kind: .temp, item: item)
        case .loadImage, .loadImageMask:
            let name = literal("image")?.stringValue ?? ""
            let image: RasterImage
            do {
                image = try PNG.decode(Array(files.read(reference: name)))
            } catch {
                throw NodeStop.failed(type: "PIL.UnidentifiedImageError", message: "cannot identify image file '\(name)'")
            }
            let alpha =
                image.channels == 4
                ? image.channel(3).inverted()
                : RasterImage(
                    width: image.width, height: image.height, channels: 1, pixels: [UInt8](repeating: 0, count: image.width * image.height))
            if nodeClass.name == "LoadImage" { return NodeResult(outputs: [.images([image.rgb]), .mask(alpha)]) }
            let channel = ["red": 0, "green": 1, "blue": 2, "alpha": 3][literal("channel")?.stringValue ?? "alpha"] ?? 3
            return NodeResult(outputs: [.mask(channel == 3 ? alpha : image.channel(channel))])
        case .saveLatent:
            guard case .latent(let width, let height, let batch, let seed)? = input("samples") else {
                throw NodeStop.failed(type: "TypeError", message: "SaveLatent needs a LATENT")
            }
            return try saveLatent(
                LatentFile(width: width, height: height, batch: batch, seed: seed),
                prefix: literal("filename_prefix")?.stringValue ?? "ComfyUI", item: item)
        case .loadLatent:
            let name = literal("latent")?.stringValue ?? ""
            let latent: LatentFile
            do {
                latent = try LatentFile(decoding: files.read(reference: name))
            } catch let failure as LatentFile.Failure {
                throw NodeStop.failed(type: "safetensors_rust.SafetensorError", message: failure.description)
            } catch {
                throw NodeStop.failed(type: "FileNotFoundError", message: "[Errno 2] No such file or directory: '\(name)'")
            }
            return NodeResult(outputs: [.latent(width: latent.width, height: latent.height, batch: latent.batch, seed: latent.seed)])
        case .invertImage:
            return NodeResult(outputs: [.images(try images("image").map { $0.inverted() })])
        case .emptyImage:
            let image = RasterImage.solid(width: int("width", 512), height: int("height", 512), color: int("color", 0))
            return NodeResult(outputs: [.images(Array(repeating: image, count: max(1, int("batch_size", 1))))])
        case .acceptanceWork, .acceptanceFail:
            let failing = nodeClass.name == "AcceptanceFail"
            let steps = failing ? int("steps_before_failure", 2) : max(1, int("steps", 10))
            let seconds = literal("seconds_per_step")?.doubleValue ?? 0.1
            let previews = failing ? false : (literal("preview")?.boolValue ?? true)
            let source = try images("image")
            for step in stride(from: 1, through: steps, by: 1) {
                // The acceptance nodes sleep real seconds on a real server; here they follow the time scale.
                guard await pause(simulatedSeconds: seconds, generation: generation) else { throw NodeStop.abandoned }
                try checkInterrupt()
                progress(step, steps, previews)
            }
            if failing {
                throw NodeStop.failed(type: "RuntimeError", message: literal("message")?.stringValue ?? "AcceptanceFail raised on purpose")
            }
            let seed = literal("seed")?.numberValue?.uint64 ?? 0
            let color = (UInt8(truncatingIfNeeded: seed), UInt8(truncatingIfNeeded: seed >> 8), UInt8(truncatingIfNeeded: seed >> 16))
            return NodeResult(outputs: [.images(source.map { $0.blended(toward: color, fraction: 0.1) })], steps: steps)
        }
    }

    /// SaveLatent: `<prefix>_<counter:05>_.latent` in the output folder, listed under `latents`.
    func saveLatent(_ latent: LatentFile, prefix: String, item: QueueItem) throws -> NodeResult {
        let slash = prefix.lastIndex(of: "/")
        let subfolder = slash.map { String(prefix[..<$0]) } ?? ""
        let base = slash.map { String(prefix[prefix.index(after: $0)...]) } ?? prefix
        let folder: URL
        do {
            folder = try files.resolveFolder(.output, subfolder: subfolder)
        } catch {
            throw NodeStop.failed(type: "Exception", message: "Saving image outside the output folder is not allowed.")
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let name = "\(base)_\(String(format: "%05d", files.nextCounter(folder: folder, prefix: base)))_.latent"
        var metadata = ["prompt": item.prompt.jsonString(.compact)]
        if case .object(let info)? = item.extraData["extra_pnginfo"] {
            for (key, value) in info { metadata[key] = value.jsonString(.compact) }
        }
        try files.write(latent.encoded(metadata: metadata), to: folder.appendingPathComponent(name))
        let entry: JSONValue = ["filename": .string(name), "subfolder": .string(subfolder), "type": "output"]
        return NodeResult(outputs: [], ui: ["latents": [entry]])
    }

    /// SaveImage / PreviewImage: `<prefix>_<counter:05>_.png`, subfolder from the prefix, PNG with the prompt.
    func save(_ images: [RasterImage], prefix rawPrefix: String, kind: FileReference.Kind, item: QueueItem) throws -> NodeResult {
        var prefix = rawPrefix
        if let first = images.first {
            prefix = prefix.replacingOccurrences(of: "%width%", with: String(first.width))
                .replacingOccurrences(of: "%height%", with: String(first.height))
        }
        let now = Calendar(identifier: .gregorian).dateComponents(in: TimeZone.current, from: Date())
        for (token, value) in [
            ("%year%", now.year ?? 0), ("%month%", now.month ?? 0), ("%day%", now.day ?? 0),
            ("%hour%", now.hour ?? 0), ("%minute%", now.minute ?? 0), ("%second%", now.second ?? 0)
        ] {
            prefix = prefix.replacingOccurrences(of: token, with: token == "%year%" ? String(value) : String(format: "%02d", value))
        }
        // os.path.dirname / basename (Foundation's deletingLastPathComponent traps on a one-character string).
        let slash = prefix.lastIndex(of: "/")
        let subfolder = slash.map { String(prefix[..<$0]) } ?? ""
        let base = slash.map { String(prefix[prefix.index(after: $0)...]) } ?? prefix
        let folder: URL
        do {
            folder = try files.resolveFolder(kind, subfolder: subfolder)
        } catch {
            throw NodeStop.failed(type: "Exception", message: "Saving image outside the output folder is not allowed.")
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var counter = files.nextCounter(folder: folder, prefix: base)
        var entries: [JSONValue] = []
        var text: [(String, String)] = [("prompt", item.prompt.jsonString(.compact))]
        if case .object(let info)? = item.extraData["extra_pnginfo"] {
            for (key, value) in info { text.append((key, value.jsonString(.compact))) }
        }
        for image in images {
            let name = "\(base)_\(String(format: "%05d", counter))_.png"
            try files.write(Data(PNG.encode(image, text: text)), to: folder.appendingPathComponent(name))
            entries.append(["filename": .string(name), "subfolder": .string(subfolder), "type": .string(kind.rawValue)])
            counter += 1
        }
        return NodeResult(outputs: [], ui: ["images": .array(entries)])
    }
}
