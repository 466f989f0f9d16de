import ComfyWire
import ConductorCore
import Testing

@Suite struct SchedulerRequirementsTests {
    private func requirements(_ text: String) throws -> JobRequirements {
        JobRequirements(prompt: try PromptGraph(json: JSONValue(parsing: text)))
    }

    @Test func sdxlPromptNeedsItsCheckpointAndThirtyUnitsOfWork() throws {
        let job = try requirements(Self.sdxlPrompt)
        #expect(job.checkpoint == "sdxl-动漫二次元_2.0.safetensors")
        #expect(job.work == 30)
        #expect(job.vramNeeded == nil)
        #expect(
            job.classTypes
                == ["KSampler", "CheckpointLoaderSimple", "EmptyLatentImage", "CLIPTextEncode", "VAEDecode", "SaveImage"])
        #expect(
            job.choices.contains(
                .init(classType: "CheckpointLoaderSimple", input: "ckpt_name", value: "sdxl-动漫二次元_2.0.safetensors")))
        #expect(job.choices.contains(.init(classType: "KSampler", input: "sampler_name", value: "dpmpp_2m")))
        #expect(job.choices.contains(.init(classType: "SaveImage", input: "filename_prefix", value: "ComfyUI")))
        // Links and numbers are not choices.
        #expect(!job.choices.contains { $0.input == "model" || $0.input == "steps" })
    }

    @Test func twoSamplersOnABatchOfTwo1024LatentsAddUp() throws {
        // 20 steps × 4 (1024²/512²) × 2 + 10 steps × 4 × 2 (the second pass refines the first one's latent).
        let job = try requirements(
            #"""
            {
              "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux1-dev.safetensors", "weight_dtype": "default"}},
              "2": {"class_type": "EmptyLatentImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 2}},
              "3": {"class_type": "KSampler", "inputs": {"steps": 20, "model": ["1", 0], "latent_image": ["2", 0]}},
              "4": {"class_type": "KSampler", "inputs": {"steps": 10, "denoise": 0.5, "model": ["1", 0], "latent_image": ["3", 0]}},
              "5": {"class_type": "VAEDecode", "inputs": {"samples": ["4", 0]}}
            }
            """#)
        #expect(job.work == 240)
        #expect(job.checkpoint == "flux1-dev.safetensors")
    }

    @Test func advancedSamplerCountsOnlyItsStepRangeAndUpscaledLatentsCountLarger() throws {
        // 8 of 24 steps at 512² + 12 steps at (2 × 512)² after LatentUpscaleBy.
        let job = try requirements(
            #"""
            {
              "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a.safetensors"}},
              "2": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
              "3": {"class_type": "KSamplerAdvanced", "inputs": {"steps": 24, "start_at_step": 16, "end_at_step": 10000, "latent_image": ["2", 0]}},
              "4": {"class_type": "LatentUpscaleBy", "inputs": {"upscale_method": "nearest-exact", "scale_by": 2.0, "samples": ["3", 0]}},
              "5": {"class_type": "KSampler", "inputs": {"steps": 12, "latent_image": ["4", 0]}},
              "6": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "b.safetensors"}}
            }
            """#)
        #expect(job.work == 8 + 12 * 4)
        #expect(job.checkpoint == "a.safetensors")
    }

    @Test func samplerWithoutAKnownLatentCountsAs512SquareSingleImage() throws {
        let job = try requirements(
            #"{"1": {"class_type": "KSampler", "inputs": {"steps": 25, "latent_image": ["9", 0]}}}"#)
        #expect(job.work == 25)
    }

    @Test func promptWithoutSamplersIsStillOneUnitAndHasNoCheckpoint() throws {
        let job = try requirements(
            #"""
            {
              "1": {"class_type": "LoadImage", "inputs": {"image": "cat.png"}},
              "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}}
            }
            """#)
        #expect(job.work == 1)
        #expect(job.checkpoint == nil)
        #expect(job.classTypes == ["LoadImage", "SaveImage"])
    }

    /// The "prompt" object of Examples/sdxl-ksampler.json.
    static let sdxlPrompt = #"""
        {
          "3": {
            "inputs": {
              "seed": 0,
              "steps": 30,
              "cfg": 8,
              "sampler_name": "dpmpp_2m",
              "scheduler": "karras",
              "denoise": 1,
              "model": [
                "4",
                0
              ],
              "positive": [
                "6",
                0
              ],
              "negative": [
                "7",
                0
              ],
              "latent_image": [
                "5",
                0
              ]
            },
            "class_type": "KSampler",
            "_meta": {
              "title": "K采样器"
            }
          },
          "4": {
            "inputs": {
              "ckpt_name": "sdxl-动漫二次元_2.0.safetensors"
            },
            "class_type": "CheckpointLoaderSimple",
            "_meta": {
              "title": "Checkpoint加载器(简易)"
            }
          },
          "5": {
            "inputs": {
              "width": 512,
              "height": 512,
              "batch_size": 1
            },
            "class_type": "EmptyLatentImage",
            "_meta": {
              "title": "空Latent"
            }
          },
          "6": {
            "inputs": {
              "text": "1girl,flower,outdoors,solo,dress,long hair,closed eyes,sky,holding,smile,cloud,open mouth,field,blush,day,blue sky,white flower,holding flower,flower field,short sleeves,teeth,blue dress,petals,:d,facing viewer,grey hair,floating hair,wind,happy,^_^,daisy,upper teeth only,white dress,",
              "clip": [
                "4",
                1
              ]
            },
            "class_type": "CLIPTextEncode",
            "_meta": {
              "title": "CLIP文本编码器"
            }
          },
          "7": {
            "inputs": {
              "text": "(worst quality, low quality),deformed,distorted,disfigured,doll,poorly drawn,bad anatomy,wrong anatomy,",
              "clip": [
                "4",
                1
              ]
            },
            "class_type": "CLIPTextEncode",
            "_meta": {
              "title": "CLIP文本编码器"
            }
          },
          "8": {
            "inputs": {
              "samples": [
                "3",
                0
              ],
              "vae": [
                "4",
                2
              ]
            },
            "class_type": "VAEDecode",
            "_meta": {
              "title": "VAE解码"
            }
          },
          "9": {
            "inputs": {
              "filename_prefix": "ComfyUI",
              "images": [
                "8",
                0
              ]
            },
            "class_type": "SaveImage",
            "_meta": {
              "title": "保存图像"
            }
          }
        }
        """#
}
