print("sealbox")
