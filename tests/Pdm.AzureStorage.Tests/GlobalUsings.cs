global using Pdm.Testing;
