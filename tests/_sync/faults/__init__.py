# This file is generated from tests/_async/faults/__init__.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
