using System.Text.RegularExpressions;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Pdm.Functions.Api;

/// <summary>
/// The OpenAPI document of API v1, generated from the endpoints as mapped and served anonymously at
/// <see cref="Route"/>. docs/openapi.json is a copy the tests compare with it (regenerate: <c>./pdm openapi --write</c>).
/// What the framework cannot see is added here: operation ids, the security schemes, and the problem+json answers
/// every keyed endpoint may give.
/// </summary>
internal static partial class ApiDocument
{
    public const string Route = "/api/v1/openapi.json";
    private const string DocumentName = "v1";
    private const string ProblemSchema = "Problem";
    private const string KeySecurity = "apiKey";
    private const string BearerSecurity = "bearer";

    private static readonly (string Status, string Description)[] KeyedProblems =
    [
        ("400", "A parameter or the body is invalid; errors names each field and the reason"),
        ("401", "No credentials, or an unknown, revoked or invalid key or token"),
        ("403", "The caller's role or tenant may not do this"),
        ("429", "Too many requests; Retry-After says when to try again"),
    ];

    public static IServiceCollection AddApiDocument(this IServiceCollection services) =>
        services.AddOpenApi(DocumentName, options =>
        {
            options.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1;
            options.ShouldInclude = description => description.RelativePath?.StartsWith("api/", StringComparison.Ordinal) == true;
            options.AddOperationTransformer((operation, context, _) =>
            {
                // A stable id for clients generated from the document: the endpoint's name, else its handler's.
                operation.OperationId ??= context.Description.ActionDescriptor.EndpointMetadata.OfType<IEndpointNameMetadata>().FirstOrDefault()?.EndpointName
                    ?? OperationId(context.Description.HttpMethod ?? "GET", context.Description.RelativePath ?? "");
                return Task.CompletedTask;
            });
            options.AddDocumentTransformer((document, _, _) =>
            {
                Describe(document);
                return Task.CompletedTask;
            });
        });

    /// <summary>
    /// Serves the document. Not MapOpenApi: that endpoint also takes the document's name from the query string and
    /// answers an unknown one with plain text, where every error of this API is problem+json.
    /// </summary>
    public static void MapApiDocument(this IEndpointRouteBuilder app) =>
        app.MapGet(Route, async (HttpContext http, CancellationToken cancellationToken) =>
        {
            var provider = http.RequestServices.GetRequiredKeyedService<IOpenApiDocumentProvider>(DocumentName);
            var document = await provider.GetOpenApiDocumentAsync(cancellationToken);
            return TypedResults.Text(await document.SerializeAsJsonAsync(OpenApiSpecVersion.OpenApi3_1, cancellationToken), "application/json");
        }).AllowAnonymous().ExcludeFromDescription();

    private static void Describe(Microsoft.OpenApi.OpenApiDocument document)
    {
        document.Info = new OpenApiInfo
        {
            Title = "PDM Serverless API",
            Version = "v1",
            Description = "Predictive maintenance for a fleet of machines: devices, machines, readings, scores, predictions, alerts, " +
                "webhooks, models and the audit log of one tenant. Authenticate with an API key (Authorization: Bearer pdm_… or " +
                "X-Api-Key) or, where configured, a Microsoft Entra ID access token. Errors are application/problem+json.",
        };
        // Relative: the document is the same wherever the app runs (and the checked-in copy does not drift with ports).
        document.Servers = [new OpenApiServer { Url = "/" }];
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas[ProblemSchema] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "RFC 9457 problem details",
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["type"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["title"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer },
                ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["traceId"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["errors"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Description = "Per field (parameter or body property), the reasons it was refused",
                    AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
                },
            },
        };
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[KeySecurity] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = "X-Api-Key",
            Description = "A PDM API key (also accepted as Authorization: Bearer pdm_…). Roles: viewer, operator, admin; platform-admin for tenants.",
        };
        document.Components.SecuritySchemes[BearerSecurity] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "A Microsoft Entra ID access token: claim tid names the directory linked to the tenant, claim roles an app role viewer, operator or admin.",
        };
        foreach (var (path, item) in document.Paths)
        {
            if (item.Operations is null)
            {
                continue;
            }
            // Grouped by resource: /api/v1/machines/{id}/scores is under "machines".
            var tag = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Skip(2).FirstOrDefault() ?? "health";
            document.Tags ??= new HashSet<OpenApiTag>();
            if (!document.Tags.Any(t => t.Name == tag))
            {
                document.Tags.Add(new OpenApiTag { Name = tag });
            }
            foreach (var operation in item.Operations.Values)
            {
                operation.Tags = new HashSet<OpenApiTagReference> { new(tag, document) };
                if (path == Route || path == "/api/health")
                {
                    continue;
                }
                operation.Security =
                [
                    new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(KeySecurity, document)] = [] },
                    new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerSecurity, document)] = [] },
                ];
                operation.Responses ??= new OpenApiResponses();
                foreach (var (status, description) in KeyedProblems.Concat(path.Contains('{', StringComparison.Ordinal)
                    ? [("404", "No such resource in the caller's tenant")] : []))
                {
                    operation.Responses.TryAdd(status, Problem(description, document));
                }
            }
        }
    }

    private static OpenApiResponse Problem(string description, Microsoft.OpenApi.OpenApiDocument document) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType>
        {
            ["application/problem+json"] = new OpenApiMediaType { Schema = new OpenApiSchemaReference(ProblemSchema, document) },
        },
    };

    /// <summary>"GET api/v1/machines/{machineId}/readings" → "get_machines_machineId_readings".</summary>
    private static string OperationId(string method, string path) =>
        method.ToLowerInvariant() + "_" + NonWord().Replace(Constraint().Replace(path.Replace("api/v1/", "", StringComparison.Ordinal), ""), "_").Trim('_');

    [GeneratedRegex(@"[^A-Za-z0-9]+")]
    private static partial Regex NonWord();

    [GeneratedRegex(@":[^}]*")]
    private static partial Regex Constraint();
}
