using System.Collections.Frozen;
using Microsoft.Extensions.Options;

namespace Pdm.Functions.Api;

/// <summary>
/// The dashboard's files (built from ../dashboard into the app's dashboard/ folder) under <c>/api/dashboard/</c>, the
/// Api function's route; its data comes from <see cref="DashboardEndpoints"/> and the rest of the API. The page signs in
/// with an API key or an Entra token of its own (<see cref="DashboardSignIn"/>), so the files themselves are public. They are read once at start: a path can only name
/// a file that was there, so nothing outside the folder can be reached.
/// </summary>
internal static class DashboardPages
{
    public const string Prefix = "/api/dashboard";

    /// <summary>
    /// Scripts and styles only from this origin, no inline code, data only from the API: what the page needs and no
    /// more. uPlot sets sizes through the CSSOM, which style-src does not govern. With Entra sign-in, the page also
    /// talks to the authority (metadata, tokens) and renews in a hidden frame of it when its refresh token expired.
    /// </summary>
    public static string ContentSecurityPolicy(string? authorityOrigin) =>
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + (authorityOrigin is null ? "connect-src 'self'; " : $"connect-src 'self' {authorityOrigin}; frame-src {authorityOrigin}; ")
        + "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public static void MapDashboardPages(this IEndpointRouteBuilder app)
    {
        var signIn = DashboardSignIn.From(app.ServiceProvider.GetRequiredService<IOptions<EntraOptions>>().Value);
        var files = DashboardFiles.Load(Path.Combine(AppContext.BaseDirectory, "dashboard"), ContentSecurityPolicy(signIn.AuthorityOrigin));
        // Before the files' catch-all (a literal segment wins): the page reads it before it shows the sign-in screen.
        app.MapGet(DashboardSignIn.Path, (HttpContext http) =>
        {
            http.Response.Headers.CacheControl = "no-cache";
            return TypedResults.Json(signIn);
        });
        // The page names its files by absolute path: hosts differ in whether they keep a trailing slash (the dev host
        // drops it), so both forms serve the page.
        app.MapGet(Prefix, (HttpContext http) => files.Serve(null, http));
        app.MapGet(Prefix + "/{**path}", (string? path, HttpContext http) => files.Serve(path, http));
    }
}

/// <summary>The built dashboard in memory, each file with its content type and an ETag of its bytes.</summary>
internal sealed class DashboardFiles
{
    private const string Index = "index.html";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".txt"] = "text/plain; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".png"] = "image/png",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private readonly FrozenDictionary<string, DashboardFile> _files;
    private readonly string _contentSecurityPolicy;

    private DashboardFiles(FrozenDictionary<string, DashboardFile> files, string contentSecurityPolicy)
    {
        _files = files;
        _contentSecurityPolicy = contentSecurityPolicy;
    }

    public bool IsBuilt => _files.ContainsKey(Index);

    public static DashboardFiles Load(string directory, string contentSecurityPolicy)
    {
        var files = new Dictionary<string, DashboardFile>(StringComparer.Ordinal);
        if (Directory.Exists(directory))
        {
            foreach (var path in Directory.EnumerateFiles(directory))
            {
                var name = Path.GetFileName(path);
                if (!ContentTypes.TryGetValue(Path.GetExtension(name), out var contentType))
                {
                    continue;
                }
                var bytes = File.ReadAllBytes(path);
                var etag = ETags.Of(bytes);
                files[name] = new DashboardFile(bytes, contentType, etag, Immutable: name != Index);
            }
        }
        return new DashboardFiles(files.ToFrozenDictionary(StringComparer.Ordinal), contentSecurityPolicy);
    }

    public IResult Serve(string? path, HttpContext http)
    {
        var name = string.IsNullOrEmpty(path) ? Index : path;
        if (!_files.TryGetValue(name, out var file))
        {
            return IsBuilt
                ? Problems.NotFound($"the dashboard has no file '{TextRules.Shorten(name)}'")
                : Problems.NotFound("the dashboard is not part of this build (npm and the dashboard/ sources are needed to build it)");
        }
        var headers = http.Response.Headers;
        // Scripts and styles carry a hash of their content in their name: cached for good. The page names them, so
        // it is revalidated every time (a 304 while unchanged).
        headers.CacheControl = file.Immutable ? "public, max-age=31536000, immutable" : "no-cache";
        headers.ContentSecurityPolicy = _contentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        return ETags.IsNotModified(http, file.ETag) ? ETags.NotModified : TypedResults.Bytes(file.Bytes, file.ContentType);
    }

    private sealed record DashboardFile(byte[] Bytes, string ContentType, string ETag, bool Immutable);
}
