extension SystemStats {
    /// The `system` object: platform, RAM in bytes, and the versions a frontend or coordinator checks.
    public struct System: Sendable, Hashable {
        /// `sys.platform` (`linux`, `win32`, `darwin`); servers before 0.4.0 report `os.name` (`posix`, `nt`).
        public var os: String
        public var ramTotal: Int64
        public var ramFree: Int64
        public var comfyuiVersion: String
        public var requiredFrontendVersion: String?
        public var installedTemplatesVersion: String?
        public var requiredTemplatesVersion: String?
        public var pythonVersion: String
        public var pytorchVersion: String
        public var embeddedPython: Bool
        /// The server's command line, e.g. `["main.py", "--listen", "0.0.0.0"]`.
        public var argv: [String]
        /// Keys this model does not know (e.g. `comfy_package_versions`, `deploy_environment`), in their order.
        public var extra: JSONObject

        static let knownKeys = [
            "os", "ram_total", "ram_free", "comfyui_version", "required_frontend_version",
            "installed_templates_version",
            "required_templates_version", "python_version", "pytorch_version", "embedded_python", "argv"
        ]

        public init(
            os: String, ramTotal: Int64, ramFree: Int64, comfyuiVersion: String, requiredFrontendVersion: String? = nil,
            installedTemplatesVersion: String? = nil, requiredTemplatesVersion: String? = nil, pythonVersion: String,
            pytorchVersion: String, embeddedPython: Bool = false, argv: [String], extra: JSONObject = [:]
        ) {
            self.os = os
            self.ramTotal = ramTotal
            self.ramFree = ramFree
            self.comfyuiVersion = comfyuiVersion
            self.requiredFrontendVersion = requiredFrontendVersion
            self.installedTemplatesVersion = installedTemplatesVersion
            self.requiredTemplatesVersion = requiredTemplatesVersion
            self.pythonVersion = pythonVersion
            self.pytorchVersion = pytorchVersion
            self.embeddedPython = embeddedPython
            self.argv = argv
            self.extra = extra
        }

        public init(json: JSONValue) throws(WireFormatError) {
            let context = "system_stats system"
            let object = try json.object(in: context)
            self.init(
                os: try object.string("os", in: context),
                ramTotal: try object.int64("ram_total", in: context),
                ramFree: try object.int64("ram_free", in: context),
                comfyuiVersion: try object.string("comfyui_version", in: context),
                requiredFrontendVersion: try object.optionalString("required_frontend_version", in: context),
                installedTemplatesVersion: try object.optionalString("installed_templates_version", in: context),
                requiredTemplatesVersion: try object.optionalString("required_templates_version", in: context),
                pythonVersion: try object.string("python_version", in: context),
                pytorchVersion: try object.string("pytorch_version", in: context),
                embeddedPython: try object.bool("embedded_python", in: context),
                argv: try object.strings("argv", in: context),
                extra: object.removingKeys(Self.knownKeys)
            )
        }

        /// The object in ComfyUI's key order, absent optional versions left out, then `extra`.
        public var json: JSONValue {
            var object: JSONObject = [
                "os": .string(os),
                "ram_total": .number(JSONNumber(ramTotal)),
                "ram_free": .number(JSONNumber(ramFree)),
                "comfyui_version": .string(comfyuiVersion)
            ]
            if let requiredFrontendVersion { object["required_frontend_version"] = .string(requiredFrontendVersion) }
            if let installedTemplatesVersion {
                object["installed_templates_version"] = .string(installedTemplatesVersion)
            }
            if let requiredTemplatesVersion { object["required_templates_version"] = .string(requiredTemplatesVersion) }
            object["python_version"] = .string(pythonVersion)
            object["pytorch_version"] = .string(pytorchVersion)
            object["embedded_python"] = .bool(embeddedPython)
            object["argv"] = .strings(argv)
            for (key, value) in extra { object[key] = value }
            return .object(object)
        }
    }
}
