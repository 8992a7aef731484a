// RotoVisionTests
