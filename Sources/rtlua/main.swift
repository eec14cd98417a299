print("rtlua")
