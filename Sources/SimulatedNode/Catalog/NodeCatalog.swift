import ComfyWire

/// The node classes a simulated node offers: the core classes the seed workflows use plus the two
/// acceptance classes the recordings were made with.
public struct NodeCatalog: Sendable {
    /// What running a node of a class does in the simulation.
    public enum Behaviour: Sendable {
        case loadCheckpoint, loadLora, loadVAE, encodeText, emptyLatent, sample, decode
        case saveImage, previewImage, loadImage, loadImageMask, invertImage, emptyImage
        case acceptanceWork, acceptanceFail
        case saveLatent, loadLatent
    }

    public let classes: [NodeClass]
    public let byName: [String: NodeClass]
    let behaviours: [String: Behaviour]

    init(_ entries: [(NodeClass, Behaviour)]) {
        classes = entries.map(\.0)
        byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.0.name, $0.0) })
        behaviours = Dictionary(uniqueKeysWithValues: entries.map { ($0.0.name, $0.1) })
    }

    public subscript(name: String) -> NodeClass? { byName[name] }
    public func behaviour(of name: String) -> Behaviour? { behaviours[name] }

    static let samplers = [
        "euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "heunpp2", "dpm_2",
        "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral", "dpmpp_2s_ancestral_cfg_pp",
        "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_cfg_pp", "dpmpp_2m_sde", "dpmpp_2m_sde_gpu",
        "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm", "lcm", "ipndm", "ipndm_v", "deis", "res_multistep",
        "gradient_estimation", "er_sde", "seeds_2", "seeds_3", "ddim", "uni_pc", "uni_pc_bh2"
    ]
    static let schedulers = [
        "simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal", "linear_quadratic",
        "kl_optimal"
    ]
    static let seedMax: JSONValue = .number(JSONNumber(UInt64.max))

    /// Every class the simulated node implements.
    public static let standard = NodeCatalog([
        (
            NodeClass(
                name: "CheckpointLoaderSimple", displayName: "Load Checkpoint", category: "loaders",
                description: "Loads a diffusion model checkpoint, diffusion models are used to denoise latents.",
                pythonModule: "nodes",
                required: [.init(name: "ckpt_name", kind: .combo(.checkpoints, extra: ["tooltip": "The name of the checkpoint (model) to load."]))],
                optional: [], hidden: [:],
                outputs: [("MODEL", "MODEL"), ("CLIP", "CLIP"), ("VAE", "VAE")],
                isOutputNode: false, customValidated: []), .loadCheckpoint
        ),
        (
            NodeClass(
                name: "LoraLoader", displayName: "Load LoRA", category: "loaders",
                description:
                    "LoRAs are used to modify diffusion and CLIP models, altering the way in which latents are denoised such as applying styles. Multiple LoRA nodes can be linked together.",
                pythonModule: "nodes",
                required: [
                    .init(name: "model", kind: .link("MODEL")), .init(name: "clip", kind: .link("CLIP")),
                    .init(name: "lora_name", kind: .combo(.loras)),
                    .init(name: "strength_model", kind: .float(default: 1.0, min: -100.0, max: 100.0, step: 0.01)),
                    .init(name: "strength_clip", kind: .float(default: 1.0, min: -100.0, max: 100.0, step: 0.01))
                ],
                optional: [], hidden: [:], outputs: [("MODEL", "MODEL"), ("CLIP", "CLIP")],
                isOutputNode: false, customValidated: []), .loadLora
        ),
        (
            NodeClass(
                name: "VAELoader", displayName: "Load VAE", category: "loaders", description: "", pythonModule: "nodes",
                required: [.init(name: "vae_name", kind: .combo(.vaes))], optional: [], hidden: [:],
                outputs: [("VAE", "VAE")], isOutputNode: false, customValidated: []), .loadVAE
        ),
        (
            NodeClass(
                name: "CLIPTextEncode", displayName: "CLIP Text Encode (Prompt)", category: "conditioning",
                description:
                    "Encodes a text prompt using a CLIP model into an embedding that can be used to guide the diffusion model towards generating specific images.",
                pythonModule: "nodes",
                required: [
                    .init(name: "text", kind: .string(default: nil, extra: ["multiline": true, "dynamicPrompts": true])),
                    .init(name: "clip", kind: .link("CLIP"))
                ],
                optional: [], hidden: [:], outputs: [("CONDITIONING", "CONDITIONING")],
                isOutputNode: false, customValidated: []), .encodeText
        ),
        (
            NodeClass(
                name: "EmptyLatentImage", displayName: "Empty Latent Image", category: "latent",
                description: "Create a new batch of empty latent images to be denoised via sampling.", pythonModule: "nodes",
                required: [
                    .init(name: "width", kind: .int(default: 512, min: 16, max: 16384, extra: ["step": 8])),
                    .init(name: "height", kind: .int(default: 512, min: 16, max: 16384, extra: ["step": 8])),
                    .init(name: "batch_size", kind: .int(default: 1, min: 1, max: 4096))
                ],
                optional: [], hidden: [:], outputs: [("LATENT", "LATENT")],
                isOutputNode: false, customValidated: []), .emptyLatent
        ),
        (
            NodeClass(
                name: "KSampler", displayName: "KSampler", category: "sampling",
                description: "Uses the provided model, positive and negative conditioning to denoise the latent image.",
                pythonModule: "nodes",
                required: [
                    .init(name: "model", kind: .link("MODEL")),
                    .init(name: "seed", kind: .int(default: 0, min: 0, max: seedMax, extra: ["control_after_generate": true])),
                    .init(name: "steps", kind: .int(default: 20, min: 1, max: 10000)),
                    .init(name: "cfg", kind: .float(default: 8.0, min: 0.0, max: 100.0, step: 0.1, extra: ["round": 0.01])),
                    .init(name: "sampler_name", kind: .combo(.fixed(samplers))),
                    .init(name: "scheduler", kind: .combo(.fixed(schedulers))),
                    .init(name: "positive", kind: .link("CONDITIONING")),
                    .init(name: "negative", kind: .link("CONDITIONING")),
                    .init(name: "latent_image", kind: .link("LATENT")),
                    .init(name: "denoise", kind: .float(default: 1.0, min: 0.0, max: 1.0, step: 0.01))
                ],
                optional: [], hidden: [:], outputs: [("LATENT", "LATENT")],
                isOutputNode: false, customValidated: []), .sample
        ),
        (
            NodeClass(
                name: "VAEDecode", displayName: "VAE Decode", category: "latent",
                description: "Decodes latent images back into pixel space images.", pythonModule: "nodes",
                required: [.init(name: "samples", kind: .link("LATENT")), .init(name: "vae", kind: .link("VAE"))],
                optional: [], hidden: [:], outputs: [("IMAGE", "IMAGE")],
                isOutputNode: false, customValidated: []), .decode
        ),
        (
            NodeClass(
                name: "SaveImage", displayName: "Save Image", category: "image",
                description: "Saves the input images to your ComfyUI output directory.", pythonModule: "nodes",
                required: [
                    .init(name: "images", kind: .link("IMAGE")),
                    .init(
                        name: "filename_prefix",
                        kind: .string(
                            default: "ComfyUI",
                            extra: [
                                "tooltip":
                                    "The prefix for the file to save. This may include formatting information such as %date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes."
                            ]))
                ],
                optional: [], hidden: ["prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"], outputs: [],
                isOutputNode: true, customValidated: []), .saveImage
        ),
        (
            NodeClass(
                name: "PreviewImage", displayName: "Preview Image", category: "image",
                description: "Saves the input images to your ComfyUI output directory.", pythonModule: "nodes",
                required: [.init(name: "images", kind: .link("IMAGE"))],
                optional: [], hidden: ["prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"], outputs: [],
                isOutputNode: true, customValidated: []), .previewImage
        ),
        (
            NodeClass(
                name: "LoadImage", displayName: "Load Image", category: "image", description: "", pythonModule: "nodes",
                required: [.init(name: "image", kind: .combo(.inputImages, extra: ["image_upload": true]))],
                optional: [], hidden: [:], outputs: [("IMAGE", "IMAGE"), ("MASK", "MASK")],
                isOutputNode: false, customValidated: ["image"]), .loadImage
        ),
        (
            NodeClass(
                name: "LoadImageMask", displayName: "Load Image (as Mask)", category: "mask", description: "",
                pythonModule: "nodes",
                required: [
                    .init(name: "image", kind: .combo(.inputImages, extra: ["image_upload": true])),
                    .init(name: "channel", kind: .combo(.fixed(["alpha", "red", "green", "blue"])))
                ],
                optional: [], hidden: [:], outputs: [("MASK", "MASK")],
                isOutputNode: false, customValidated: ["image"]), .loadImageMask
        ),
        (
            NodeClass(
                name: "SaveLatent", displayName: "SaveLatent", category: "_for_testing", description: "", pythonModule: "nodes",
                required: [
                    .init(name: "samples", kind: .link("LATENT")),
                    .init(name: "filename_prefix", kind: .string(default: "latents/ComfyUI"))
                ],
                optional: [], hidden: ["prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"], outputs: [],
                isOutputNode: true, customValidated: []), .saveLatent
        ),
        // Its list is the input folder's `.latent` files, with no upload widget; its VALIDATE_INPUTS checks only that
        // the file exists, which replaces the list check on the node.
        (
            NodeClass(
                name: "LoadLatent", displayName: "LoadLatent", category: "_for_testing", description: "", pythonModule: "nodes",
                required: [.init(name: "latent", kind: .combo(.inputFiles(suffix: ".latent")))],
                optional: [], hidden: [:], outputs: [("LATENT", "LATENT")],
                isOutputNode: false, customValidated: ["latent"]), .loadLatent
        ),
        (
            NodeClass(
                name: "ImageInvert", displayName: "Invert Image", category: "image", description: "", pythonModule: "nodes",
                required: [.init(name: "image", kind: .link("IMAGE"))], optional: [], hidden: [:],
                outputs: [("IMAGE", "IMAGE")], isOutputNode: false, customValidated: []), .invertImage
        ),
        (
            NodeClass(
                name: "EmptyImage", displayName: "EmptyImage", category: "image", description: "", pythonModule: "nodes",
                required: [
                    .init(name: "width", kind: .int(default: 512, min: 1, max: 16384, extra: ["step": 1])),
                    .init(name: "height", kind: .int(default: 512, min: 1, max: 16384, extra: ["step": 1])),
                    .init(name: "batch_size", kind: .int(default: 1, min: 1, max: 4096)),
                    .init(name: "color", kind: .int(default: 0, min: 0, max: 16_777_215, extra: ["step": 1, "display": "color"]))
                ],
                optional: [], hidden: [:], outputs: [("IMAGE", "IMAGE")],
                isOutputNode: false, customValidated: []), .emptyImage
        ),
        (
            NodeClass(
                name: "AcceptanceWork", displayName: "Acceptance: simulated GPU work", category: "acceptance",
                description:
                    "Acceptance test node: simulates a GPU job. Sleeps `steps` x `seconds_per_step` seconds, reporting progress every step (with a JPEG preview if `preview`), and returns the image blended 10% toward a colour derived from `seed`.",
                pythonModule: "custom_nodes.acceptance_nodes",
                required: [
                    .init(name: "image", kind: .link("IMAGE")),
                    .init(name: "steps", kind: .int(default: 10, min: 1, max: 100_000)),
                    .init(name: "seconds_per_step", kind: .float(default: 0.1, min: 0.0, max: 600.0, step: 0.01))
                ],
                optional: [
                    .init(name: "seed", kind: .int(default: 0, min: 0, max: seedMax)),
                    .init(name: "preview", kind: .boolean(default: true))
                ],
                hidden: [:], outputs: [("IMAGE", "image")],
                isOutputNode: false, customValidated: []), .acceptanceWork
        ),
        (
            NodeClass(
                name: "AcceptanceFail", displayName: "Acceptance: fail on purpose", category: "acceptance",
                description:
                    "Acceptance test node: does `steps_before_failure` steps of `seconds_per_step` seconds with progress reports, then raises RuntimeError(message) so the job ends in execution_error.",
                pythonModule: "custom_nodes.acceptance_nodes",
                required: [
                    .init(name: "image", kind: .link("IMAGE")),
                    .init(name: "steps_before_failure", kind: .int(default: 2, min: 0, max: 100_000)),
                    .init(name: "seconds_per_step", kind: .float(default: 0.1, min: 0.0, max: 600.0, step: 0.01)),
                    .init(name: "message", kind: .string(default: "AcceptanceFail raised on purpose"))
                ],
                optional: [.init(name: "seed", kind: .int(default: 0, min: 0, max: seedMax))],
                hidden: [:], outputs: [("IMAGE", "image")],
                isOutputNode: false, customValidated: []), .acceptanceFail
        )
    ])
}
