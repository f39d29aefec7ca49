// placeholder so the layer library has a source; replaced as the layer is written.
