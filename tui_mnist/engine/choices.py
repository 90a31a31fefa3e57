"""The names each setting can take. Plain tuples, importable without numpy: the CLI builds its
parser (and fixes the BLAS thread count) before numpy is loaded."""

ACTIVATION_NAMES = ("relu", "leaky_relu", "sigmoid", "tanh")
OPTIMIZER_NAMES = ("sgd", "momentum", "adam")
SCHEDULE_NAMES = ("constant", "step", "cosine")
DTYPE_NAMES = ("float32", "float64")
AUGMENTATIONS = ("none", "shift")
