import ComfyWire
