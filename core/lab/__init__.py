"""The lab: the Bai, Kolter and Koltun (2018) reproduction, cost against sequence length, and the lesson
card filled from measurements."""
