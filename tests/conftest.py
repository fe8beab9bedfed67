pytest_plugins = ["fake_kaggle", "competition"]
