"""Qt-free DSP shared by the viewer and the model: filters, resampling, R peaks, intervals."""
