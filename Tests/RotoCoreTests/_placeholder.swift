// RotoCoreTests
