using System.Diagnostics.CodeAnalysis;

namespace Pdm.Storage;

/// <summary>The role names as they appear in the API and in the database.</summary>
public static class ApiKeyRoles
{
    private static readonly Dictionary<ApiKeyRole, string> Names = new()
    {
        [ApiKeyRole.PlatformAdmin] = "platform-admin",
        [ApiKeyRole.Viewer] = "viewer",
        [ApiKeyRole.Operator] = "operator",
        [ApiKeyRole.Admin] = "admin",
    };

    /// <summary>True for a tenant role that includes <paramref name="least"/> (admin includes operator includes viewer).</summary>
    public static bool Includes(this ApiKeyRole role, ApiKeyRole least) =>
        role != ApiKeyRole.PlatformAdmin && least != ApiKeyRole.PlatformAdmin && role >= least;

    /// <summary>Roles a tenant key can have (every role but platform-admin).</summary>
    public static IReadOnlyList<string> TenantRoles { get; } = [.. Names.Where(n => n.Key != ApiKeyRole.PlatformAdmin).Select(n => n.Value)];

    public static string Name(ApiKeyRole role) =>
        Names.TryGetValue(role, out var name) ? name : throw new ArgumentOutOfRangeException(nameof(role), role, "Unknown API key role.");

    public static bool TryParse([NotNullWhen(true)] string? text, out ApiKeyRole role)
    {
        foreach (var (candidate, name) in Names)
        {
            if (string.Equals(name, text, StringComparison.Ordinal))
            {
                role = candidate;
                return true;
            }
        }
        role = default;
        return false;
    }
}
