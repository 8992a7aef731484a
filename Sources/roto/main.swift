import RotoCLI

await RotoMain.run()
