/// Messages and bodies recorded from a real ComfyUI 0.8.0 (`comfyui-observed/`), copied so the tests stand alone.
enum Recorded {
    /// The first frame on a socket (`ws/connect.json`).
    static let statusWithSid =
        #"{"type":"status","data":{"status":{"exec_info":{"queue_remaining":0}},"sid":"acceptance-submitter"}}"#

    /// A queue update broadcast to every socket (`ws/job-success-legacy-client.json`).
    static let statusBroadcast = #"{"type":"status","data":{"status":{"exec_info":{"queue_remaining":1}}}}"#

    /// The reply to a client's feature_flags (`ws/connect.json`).
    static let featureFlags =
        #"{"type":"feature_flags","data":{"supports_preview_metadata":true,"max_upload_size":104857600,"extension":{"manager":{"supports_v4":true}}}}"#

    /// Recorded in `ws/job-success-legacy-client.json`.
    static let executionStart =
        #"{"type":"execution_start","data":{"prompt_id":"9483ddf4-ba78-41ee-ab96-c5fdbfb478ce","timestamp":1795304998140}}"#

    /// A fully cached re-run (`ws/job-success-cached-rerun.json`).
    static let executionCached =
        #"{"type":"execution_cached","data":{"nodes":["1","2","3"],"prompt_id":"d962846a-2d7b-4319-99ba-84febefa28be","timestamp":1795304999819}}"#

    /// A node starts (`ws/job-success-legacy-client.json`).
    static let executingNode =
        #"{"type":"executing","data":{"node":"1","display_node":"1","prompt_id":"9483ddf4-ba78-41ee-ab96-c5fdbfb478ce"}}"#

    /// The prompt is done (`ws/job-success-legacy-client.json`).
    static let executingEnd =
        #"{"type":"executing","data":{"node":null,"prompt_id":"9483ddf4-ba78-41ee-ab96-c5fdbfb478ce"}}"#

    /// Sent after a reconnect while the prompt runs (`ws/reconnect-same-client-id.json`).
    static let executingReconnect = #"{"type":"executing","data":{"node":"2"}}"#

    /// Recorded in `ws/job-success-legacy-client.json`.
    static let progress =
        #"{"type":"progress","data":{"value":1,"max":5,"prompt_id":"9483ddf4-ba78-41ee-ab96-c5fdbfb478ce","node":"2"}}"#

    /// Two nodes, values written both as `1.0` and as `1` (`ws/job-success-legacy-client.json`).
    static let progressState =
        #"{"type":"progress_state","data":{"prompt_id":"9483ddf4-ba78-41ee-ab96-c5fdbfb478ce","nodes":{"1":{"value":1.0,"max":1.0,"state":"finished","node_id":"1","prompt_id":"9483ddf4-ba78-41ee-ab96-c5fdbfb478ce","display_node_id":"1","parent_node_id":null,"real_node_id":"1"},"2":{"value":1,"max":5,"state":"running","node_id":"2","prompt_id":"9483ddf4-ba78-41ee-ab96-c5fdbfb478ce","display_node_id":"2","parent_node_id":null,"real_node_id":"2"}}}}"#

    /// Recorded in `ws/job-success-legacy-client.json`.
    static let executed =
        #"{"type":"executed","data":{"node":"3","display_node":"3","output":{"images":[{"filename":"work_00002_.png","subfolder":"acceptance","type":"output"}]},"prompt_id":"9483ddf4-ba78-41ee-ab96-c5fdbfb478ce"}}"#

    /// Recorded in `ws/job-success-legacy-client.json`.
    static let executionSuccess =
        #"{"type":"execution_success","data":{"prompt_id":"9483ddf4-ba78-41ee-ab96-c5fdbfb478ce","timestamp":1795304999200}}"#

    /// A node raised (`ws/job-error.json`).
    static let executionError =
        #"{"type":"execution_error","data":{"prompt_id":"a5061dc4-38fa-417f-a338-220905d39f96","node_id":"2","node_type":"AcceptanceFail","executed":["1"],"exception_message":"AcceptanceFail raised on purpose\n","exception_type":"RuntimeError","traceback":["  File \"COMFYUI/execution.py\", line 518, in execute\n    <source line omitted from this recording>\n","  File \"COMFYUI/execution.py\", line 329, in get_output_data\n    <source line omitted from this recording>\n","  File \"COMFYUI/execution.py\", line 303, in _async_map_node_over_list\n    <source line omitted from this recording>\n","  File \"COMFYUI/execution.py\", line 291, in process_inputs\n    <source line omitted from this recording>\n","  File \"NODE1_BASE/custom_nodes/acceptance_nodes/__init__.py\", line 149, in run\n    <source line omitted from this recording>\n"],"current_inputs":{"image":["tensor([[[[0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.],\n          ...,\n          [0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.]],\n\n         [[0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.],\n          ...,\n          [0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.]],\n\n         [[0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.],\n          ...,\n          [0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.]],\n\n         ...,\n\n         [[0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.],\n          ...,\n          [0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.]],\n\n         [[0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.],\n          ...,\n          [0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.]],\n\n         [[0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.],\n          ...,\n          [0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.]]]])"],"steps_before_failure":[2],"seconds_per_step":[0.1],"message":["AcceptanceFail raised on purpose"],"seed":[401789462]},"current_outputs":["2","3","1"],"timestamp":1795305004395}}"#

    /// Recorded in `ws/job-interrupted.json`.
    static let executionInterrupted =
        #"{"type":"execution_interrupted","data":{"prompt_id":"74ea8bca-c31a-4e83-8074-18f8542422e8","node_id":"2","node_type":"AcceptanceWork","executed":["1"],"timestamp":1795305005677}}"#

    /// The body, as the server wrote it (`http/queue-running-and-pending.json`).
    static let queueRunningAndPending =
        #"{"queue_running": [[10, "fc101c02-f845-430c-8d5f-cd1a03760509", {"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 8421504}}, "2": {"class_type": "AcceptanceWork", "inputs": {"image": ["1", 0], "steps": 50, "seconds_per_step": 0.2, "seed": 685150927, "preview": true}}, "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "acceptance/long"}}}, {"client_id": "acceptance-http-client", "create_time": 1795304996115}, ["3"]]], "queue_pending": [[-12, "08a35498-8d1f-45d6-be4c-aa1e7d09f956", {"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 8421504}}, "2": {"class_type": "AcceptanceWork", "inputs": {"image": ["1", 0], "steps": 50, "seconds_per_step": 0.2, "seed": 740158814, "preview": true}}, "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "acceptance/long"}}}, {"client_id": "acceptance-http-client", "create_time": 1795304996121}, ["3"]], [11, "edced396-5b37-42f6-bb7f-8f9354799469", {"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 8421504}}, "2": {"class_type": "AcceptanceWork", "inputs": {"image": ["1", 0], "steps": 50, "seconds_per_step": 0.2, "seed": 779800323, "preview": true}}, "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "acceptance/long"}}}, {"client_id": "acceptance-http-client", "create_time": 1795304996119}, ["3"]]]}"#

    /// The body, as the server wrote it (`http/history-success.json`).
    static let historySuccess =
        #"{"531fb06c-6a2c-4ae5-8abf-1b08a84c224f": {"prompt": [0, "531fb06c-6a2c-4ae5-8abf-1b08a84c224f", {"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 3355443}}, "2": {"class_type": "AcceptanceWork", "inputs": {"image": ["1", 0], "steps": 5, "seconds_per_step": 0.2, "seed": 63080387, "preview": true}}, "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "acceptance/work"}}}, {"client_id": "acceptance-http-client", "create_time": 1795304994490}, ["3"]], "outputs": {"3": {"images": [{"filename": "work_00001_.png", "subfolder": "acceptance", "type": "output"}]}}, "status": {"status_str": "success", "completed": true, "messages": [["execution_start", {"prompt_id": "531fb06c-6a2c-4ae5-8abf-1b08a84c224f", "timestamp": 1795304994495}], ["execution_cached", {"nodes": [], "prompt_id": "531fb06c-6a2c-4ae5-8abf-1b08a84c224f", "timestamp": 1795304994496}], ["execution_success", {"prompt_id": "531fb06c-6a2c-4ae5-8abf-1b08a84c224f", "timestamp": 1795304995512}]]}, "meta": {"3": {"node_id": "3", "display_node": "3", "parent_node": null, "real_node_id": "3"}}}}"#

    /// The body, as the server wrote it (`http/system_stats.json`).
    static let systemStats =
        #"{"system": {"os": "linux", "ram_total": 25274793984, "ram_free": 22854557696, "comfyui_version": "0.8.0", "required_frontend_version": "1.35.9", "installed_templates_version": "0.7.67", "required_templates_version": "0.7.67", "python_version": "3.11.7 (main, May  9 2026, 07:35:25) [GCC 12.2.0]", "pytorch_version": "2.11.0+cu130", "embedded_python": false, "argv": ["main.py", "--cpu", "--listen", "127.0.0.1", "--port", "8301", "--base-directory", "NODE1_BASE", "--input-directory", "NODE1_BASE/input", "--output-directory", "NODE1_BASE/output", "--temp-directory", "NODE1_BASE", "--user-directory", "NODE1_BASE/user", "--database-url", "sqlite:///NODE1_BASE/user/comfyui.db", "--disable-auto-launch"]}, "devices": [{"name": "cpu", "type": "cpu", "index": null, "vram_total": 25274793984, "vram_free": 22854557696, "torch_vram_total": 25274793984, "torch_vram_free": 22854557696}]}"#

    /// The body, as the server wrote it (`http/history-error.json`).
    static let historyError =
        #"{"7c13b012-0344-4307-a735-9ef3ee1b3e8c": {"prompt": [9, "7c13b012-0344-4307-a735-9ef3ee1b3e8c", {"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}}, "2": {"class_type": "AcceptanceFail", "inputs": {"image": ["1", 0], "steps_before_failure": 2, "seconds_per_step": 0.1, "message": "AcceptanceFail raised on purpose", "seed": 1270192946}}, "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "acceptance/never"}}}, {"client_id": "acceptance-http-client", "create_time": 1795304995841}, ["3"]], "outputs": {}, "status": {"status_str": "error", "completed": false, "messages": [["execution_start", {"prompt_id": "7c13b012-0344-4307-a735-9ef3ee1b3e8c", "timestamp": 1795304995842}], ["execution_cached", {"nodes": [], "prompt_id": "7c13b012-0344-4307-a735-9ef3ee1b3e8c", "timestamp": 1795304995842}], ["execution_error", {"prompt_id": "7c13b012-0344-4307-a735-9ef3ee1b3e8c", "node_id": "2", "node_type": "AcceptanceFail", "executed": ["1"], "exception_message": "AcceptanceFail raised on purpose\n", "exception_type": "RuntimeError", "traceback": ["  File \"COMFYUI/execution.py\", line 518, in execute\n    <source line omitted from this recording>\n", "  File \"COMFYUI/execution.py\", line 329, in get_output_data\n    <source line omitted from this recording>\n", "  File \"COMFYUI/execution.py\", line 303, in _async_map_node_over_list\n    <source line omitted from this recording>\n", "  File \"COMFYUI/execution.py\", line 291, in process_inputs\n    <source line omitted from this recording>\n", "  File \"NODE1_BASE/custom_nodes/acceptance_nodes/__init__.py\", line 149, in run\n    <source line omitted from this recording>\n"], "current_inputs": {"image": ["tensor([[[[0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.],\n          ...,\n          [0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.]],\n\n         [[0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.],\n          ...,\n          [0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.]],\n\n         [[0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.],\n          ...,\n          [0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.]],\n\n         ...,\n\n         [[0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.],\n          ...,\n          [0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.]],\n\n         [[0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.],\n          ...,\n          [0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.]],\n\n         [[0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.],\n          ...,\n          [0., 0., 0.],\n          [0., 0., 0.],\n          [0., 0., 0.]]]])"], "steps_before_failure": [2], "seconds_per_step": [0.1], "message": ["AcceptanceFail raised on purpose"], "seed": [1270192946]}, "current_outputs": ["2", "3", "1"], "timestamp": 1795304996053}]]}, "meta": {}}}"#
}
