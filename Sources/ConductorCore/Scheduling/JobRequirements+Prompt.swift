import ComfyWire

extension JobRequirements {
    /// Loader classes whose literal input names the checkpoint a prompt keeps in VRAM.
    static let checkpointInputs: [String: String] = [
        "CheckpointLoaderSimple": "ckpt_name",
        "CheckpointLoader": "ckpt_name",
        "ImageOnlyCheckpointLoader": "ckpt_name",
        "UNETLoader": "unet_name"
    ]
    static let samplerClasses: Set<String> = ["KSampler", "KSamplerAdvanced"]
    /// Inputs followed upstream when looking for the latent a sampler starts from.
    static let latentInputs = ["latent_image", "samples", "latent"]

    /// Extracts requirements from an API-format prompt.
    ///
    /// Work is, for each KSampler/KSamplerAdvanced, steps × (width·height/512²) × batch × frames, the size coming from
    /// the first node up its latent chain with literal `width`/`height` (and `batch_size`, and `length` for video
    /// latents, default 1), scaled by any
    /// `scale_by` passed on the way; 512×512×1 when none is found. KSamplerAdvanced counts only the steps between
    /// `start_at_step` and `end_at_step`.
    public init(prompt: PromptGraph) {
        var classTypes = Set<String>()
        var choices: [Choice] = []
        var seen = Set<Choice>()
        var checkpoint: String?
        var work = 0.0
        var samplers: [String] = []
        for node in prompt.nodes {
            guard let classType = node.classType else { continue }
            classTypes.insert(classType)
            for (input, value) in node.inputs {
                guard case .string(let text) = value else { continue }
                let choice = Choice(classType: classType, input: input, value: text)
                if seen.insert(choice).inserted { choices.append(choice) }
            }
            if checkpoint == nil, let input = Self.checkpointInputs[classType] {
                checkpoint = node.inputs[input]?.stringValue
            }
            if Self.samplerClasses.contains(classType) {
                work += Self.samplingWork(of: node, in: prompt)
                samplers.append(node.id)
            }
        }
        self.init(
            classTypes: classTypes, choices: choices, checkpoint: checkpoint, work: max(1, work),
            shape: Self.shape(checkpoint: checkpoint, classTypes: classTypes))
        samplerNodes = samplers
    }

    /// `shape`: the checkpoint, then the class types in order, e.g. "sd15.safetensors|CLIPTextEncode,KSampler,…".
    static func shape(checkpoint: String?, classTypes: Set<String>) -> String {
        (checkpoint ?? "") + "|" + classTypes.sorted().joined(separator: ",")
    }

    static func samplingWork(of sampler: PromptGraph.Node, in prompt: PromptGraph) -> Double {
        var steps = max(0, sampler.inputs["steps"]?.intValue ?? 20)
        if sampler.classType == "KSamplerAdvanced" {
            let start = max(0, sampler.inputs["start_at_step"]?.intValue ?? 0)
            let end = sampler.inputs["end_at_step"]?.intValue ?? steps
            steps = max(0, min(end, steps) - start)
        }
        let latent = latentSize(feeding: sampler, in: prompt)
        return Double(steps) * latent.width * latent.height / (512 * 512) * Double(latent.batch * latent.frames)
    }

    /// Width, height and batch of the latent a sampler starts from, following its latent chain upstream.
    static func latentSize(
        feeding sampler: PromptGraph.Node, in prompt: PromptGraph
    ) -> (width: Double, height: Double, batch: Int, frames: Int) {
        var scale = 1.0
        var node = sampler
        for _ in 0..<32 {
            guard let source = upstreamLatent(of: node), let next = prompt[source] else { break }
            node = next
            if let width = node.inputs["width"]?.intValue, let height = node.inputs["height"]?.intValue,
                width > 0, height > 0
            {
                let batch = max(1, node.inputs["batch_size"]?.intValue ?? 1)
                let frames = max(1, node.inputs["length"]?.intValue ?? 1)  // video latents (EmptyHunyuanLatentVideo, …)
                return (Double(width) * scale, Double(height) * scale, batch, frames)
            }
            if let factor = node.inputs["scale_by"]?.doubleValue, factor > 0 { scale *= factor }
        }
        return (512 * scale, 512 * scale, 1, 1)
    }

    static func upstreamLatent(of node: PromptGraph.Node) -> String? {
        for name in latentInputs {
            if let value = node.inputs[name], case .link(let id, _) = PromptGraph.Input(value) { return id }
        }
        return nil
    }
}
