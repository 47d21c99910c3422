"""What a model is asked to do (the task registry) and how it is trained (the training settings)."""
