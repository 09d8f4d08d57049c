from setuptools import setup

setup(name="slugkit", version="1.2.0", packages=["slugkit"])
