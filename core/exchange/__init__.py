"""What leaves the app and comes back: share links, comparison bundles and the exported Keras script."""
