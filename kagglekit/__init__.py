"""kagglekit: a Kaggle Digit Recognizer toolkit with a neural network written from scratch in NumPy."""
__version__ = "0.1.0"
