"""CNN vs RNN: build, train and compare convolutional and recurrent networks on real data."""

from pages.common import navigate

navigate()
