// placeholder: implemented in the GGUF work
