-- Start-up: print and exit.
print("hello")
