using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Pdm.Edge.Cloud;
using Pdm.Edge.Pipeline;

namespace Pdm.Edge;

/// <summary>
/// Where the module keeps its state and where its configuration comes from, bound from the <c>Edge</c> section
/// (environment variables <c>Edge__DataDirectory</c>, <c>Edge__ConfigurationFile</c>, <c>Edge__StatusInterval</c>, ...).
/// </summary>
public sealed class EdgeOptions
{
    public const string Section = "Edge";

    /// <summary>Queue, trust bundle and status file live here; mount it as a volume so they survive the container.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Edge:DataDirectory must name a folder")]
    public string DataDirectory { get; set; } = "/app/data";

    /// <summary>
    /// The configuration document as a file, watched for changes. Null: it comes from the module twin's desired
    /// property <c>config</c> (IoT Edge and direct modes).
    /// </summary>
    public string? ConfigurationFile { get; set; }

    /// <summary>How often status is reported (twin reported properties and <c>status.json</c>).</summary>
    [Range(typeof(TimeSpan), "00:00:00.1", "1.00:00:00", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true,
        ErrorMessage = "Edge:StatusInterval must be between 00:00:00.1 and 1.00:00:00 (100 ms to one day)")]
    public TimeSpan StatusInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest message sent upstream, in machine samples.</summary>
    [Range(1, 10_000, ErrorMessage = "Edge:MaxSamplesPerMessage must be between 1 and 10000")]
    public int MaxSamplesPerMessage { get; set; } = TelemetryForwarder.DefaultMaxSamplesPerMessage;
}

/// <summary>
/// The cloud settings must name a mode that has everything it needs (<see cref="CloudLink.TryResolveMode"/>, no I/O),
/// so a module with a missing connection string or password stops at startup with that setting's name.
/// </summary>
internal sealed class CloudSettingsValidator(IConfiguration configuration) : IValidateOptions<CloudSettings>
{
    public ValidateOptionsResult Validate(string? name, CloudSettings options) =>
        CloudLink.TryResolveMode(options, key => configuration[key], out _, out var error)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(error);
}

/// <summary>
/// Across the two sections: without a module twin (local mode) the configuration can only come from a file. The cloud
/// section is read unvalidated here; when it is wrong, <see cref="CloudSettingsValidator"/> says why.
/// </summary>
internal sealed class EdgeOptionsValidator(IConfiguration configuration) : IValidateOptions<EdgeOptions>
{
    public ValidateOptionsResult Validate(string? name, EdgeOptions options)
    {
        var cloud = configuration.GetSection(CloudSettings.Section).Get<CloudSettings>() ?? new CloudSettings();
        if (options.ConfigurationFile is not null || !CloudLink.TryResolveMode(cloud, key => configuration[key], out var mode, out _))
        {
            return ValidateOptionsResult.Skip;
        }
        return mode == CloudMode.Local
            ? ValidateOptionsResult.Fail(EdgeRuntime.NoConfigurationSource(mode) + " (Edge:ConfigurationFile)")
            : ValidateOptionsResult.Success;
    }
}
