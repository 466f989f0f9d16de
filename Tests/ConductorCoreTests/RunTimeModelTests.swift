import ComfyWire
import ConductorCore
import Testing

@Suite("learned run time per workflow shape")
struct RunTimeModelTests {
    static func requirements(_ text: String) throws -> JobRequirements {
        JobRequirements(prompt: try PromptGraph(json: JSONValue(parsing: text)))
    }

    static func prompt(checkpoint: String, steps: Int, width: Int = 512, extra: String = "") -> String {
        """
        {
          "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "\(checkpoint)"}},
          "2": {"class_type": "EmptyLatentImage", "inputs": {"width": \(width), "height": 512, "batch_size": 1}},
          "3": {"class_type": "KSampler", "inputs": {"steps": \(steps), "model": ["1", 0], "latent_image": ["2", 0]}},
          "4": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0]}}\(extra)
        }
        """
    }

    @Test("a shape is its checkpoint and class types: steps and size change the work, not the shape")
    func shapeOfAPrompt() throws {
        let small = try Self.requirements(Self.prompt(checkpoint: "sd15.safetensors", steps: 20))
        let large = try Self.requirements(Self.prompt(checkpoint: "sd15.safetensors", steps: 30, width: 1024))
        let other = try Self.requirements(Self.prompt(checkpoint: "sdxl.safetensors", steps: 20))
        let upscaled = try Self.requirements(
            Self.prompt(
                checkpoint: "sd15.safetensors", steps: 20,
                extra: #", "5": {"class_type": "ImageScaleBy", "inputs": {"upscale_method": "lanczos", "scale_by": 2, "image": ["4", 0]}}"#))
        #expect(small.shape == "sd15.safetensors|CheckpointLoaderSimple,EmptyLatentImage,KSampler,VAEDecode")
        #expect(large.shape == small.shape)
        #expect((small.work, large.work) == (20, 60))
        #expect(other.shape != small.shape)
        #expect(upscaled.shape != small.shape)
    }

    @Test("a video latent's frames multiply the work")
    func videoFrames() throws {
        let job = try Self.requirements(
            #"""
            {
              "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "hunyuan_video.safetensors", "weight_dtype": "default"}},
              "2": {"class_type": "EmptyHunyuanLatentVideo", "inputs": {"width": 512, "height": 512, "length": 25, "batch_size": 1}},
              "3": {"class_type": "KSampler", "inputs": {"steps": 10, "model": ["1", 0], "latent_image": ["2", 0]}}
            }
            """#)
        #expect(job.work == 250)
    }

    @Test("the first job of a shape sets its factor, predicts it on every node, and leaves the node's speed as it was")
    func firstJobSetsTheFactor() throws {
        var model = RunTimeModel()
        #expect(model.factor(of: "sdxl") == 1)
        #expect(model.relativeError(of: "sdxl") == nil)
        // 20 units on a node of speed 2 took 30 s instead of the 10 s the work alone predicts: the shape is 3× slower.
        let taught = model.record(shape: "sdxl", work: 20, speed: 2, seconds: 30)
        #expect(model.factor(of: "sdxl") == 3)
        #expect(taught == 60, "60 units in 30 s is the speed of 2 the node already had")
        #expect(model.seconds(work: 10, shape: "sdxl", speed: 0.5) == 60, "learned on one node, predicted on another")
        #expect(model.seconds(work: 10, shape: "sd15", speed: 0.5) == 20, "an unseen shape is its work")
        #expect(abs(try #require(model.relativeError(of: "sdxl")) - 2.0 / 3.0) < 1e-12, "predicted 10 s for 30 s")
    }

    @Test("noisy run times converge on the shape's true factor, and the error estimate falls to the noise")
    func convergesUnderNoise() throws {
        var model = RunTimeModel()
        var random = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let work = Double.random(in: 5...50, using: &random)
            let noise = Double.random(in: 0.9...1.1, using: &random)
            model.record(shape: "flux", work: work, speed: 1.5, seconds: work * 4 / 1.5 * noise)
        }
        #expect(abs(model.factor(of: "flux") - 4) < 0.4)
        #expect(try #require(model.relativeError(of: "flux")) < 0.12)
        #expect(model.shapes["flux"]?.samples == 200)
    }

    @Test("measurements that are not positive and finite teach nothing")
    func ignoresBadMeasurements() {
        var model = RunTimeModel()
        #expect(model.record(shape: "a", work: 10, speed: 1, seconds: 0) == nil)
        #expect(model.record(shape: "a", work: 10, speed: 1, seconds: .infinity) == nil)
        #expect(model.record(shape: "a", work: 0, speed: 1, seconds: 3) == nil)
        #expect(model.shapes.isEmpty)
    }
}
