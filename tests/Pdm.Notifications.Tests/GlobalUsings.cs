global using Pdm.LocalStack;
global using Pdm.Testing;
