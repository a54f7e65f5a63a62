extern alias functions;

using System.ComponentModel.DataAnnotations;
using Npgsql;
using PdmOptions = functions::Pdm.Functions.PdmOptions;

namespace Pdm.Infra.Tests;

/// <summary>The database sign-in the Bicep configures (Pdm__DatabaseCredential=managedidentity) is one the handler accepts.</summary>
public sealed class DatabaseCredentialTests
{
    [Theory]
    [InlineData(null, true)]
    [InlineData("managedidentity", true)]
    [InlineData("ManagedIdentity", true)]
    [InlineData("password", false)]
    public void Only_managedidentity_is_accepted(string? credential, bool valid)
    {
        var options = new PdmOptions { Database = "Host=db;Username=pdm_app", DatabaseCredential = credential };
        var errors = new List<ValidationResult>();

        Assert.Equal(valid, Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true));
        Assert.All(errors, e => Assert.Contains("Pdm__DatabaseCredential", e.ErrorMessage, StringComparison.Ordinal));
    }

    [Fact]
    public void The_connection_string_the_bicep_writes_parses_and_verifies_the_server()
    {
        var app = Bicep.Resources(Bicep.MainTemplate).Single(r => Bicep.Type(r) == "Microsoft.Web/sites");
        var value = app["properties"]!["siteConfig"]!["appSettings"]!.AsArray()
            .Single(s => s!["name"]!.GetValue<string>() == "Pdm__Database")!["value"]!.GetValue<string>();
        // An ARM format() expression: put sample values in for its placeholders.
        Assert.StartsWith("[format('", value, StringComparison.Ordinal);
        var start = value.IndexOf('\'', StringComparison.Ordinal) + 1;
        var template = value[start..value.IndexOf('\'', start)];
        var connection = System.Text.RegularExpressions.Regex.Replace(template, @"\{\d+\}", "x");

        var builder = new NpgsqlConnectionStringBuilder(connection);

        Assert.Equal(SslMode.VerifyFull, builder.SslMode);
        Assert.Null(builder.Password);
    }
}
