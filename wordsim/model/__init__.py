"""The encoder: which model to load (``source``), how token states become one word vector
(``pooling``), the torch reference backend and the ONNX Runtime backend (``onnx_export``
makes and verifies the ONNX file; ``onnx_backend`` only runs it), and ``loader`` to pick one."""
