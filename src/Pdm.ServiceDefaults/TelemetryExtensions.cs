using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Pdm.ServiceDefaults;

/// <summary>Where telemetry goes, from the standard variables; nothing is exported when neither is set.</summary>
/// <param name="Otlp">True when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the OTLP exporter reads the other <c>OTEL_*</c> variables itself).</param>
/// <param name="AzureMonitorConnectionString">The Application Insights connection string, in Azure.</param>
public sealed record TelemetryExport(bool Otlp, string? AzureMonitorConnectionString)
{
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string AzureMonitorVariable = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    public bool Any => Otlp || AzureMonitorConnectionString is not null;

    public static TelemetryExport From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var azure = configuration[AzureMonitorVariable];
        return new TelemetryExport(!string.IsNullOrWhiteSpace(configuration[OtlpEndpointVariable]),
            string.IsNullOrWhiteSpace(azure) ? null : azure);
    }
}

public static class TelemetryExtensions
{
    /// <summary>Every source and meter of ours: Pdm.Ingest, Pdm.Edge, Pdm.DevHost…</summary>
    public const string PdmNames = "Pdm.*";

    /// <summary>
    /// OpenTelemetry for a host: traces of the <c>Pdm.*</c> activity sources and outgoing HTTP, metrics of the
    /// <c>Pdm.*</c> meters and HTTP, and logs with their scopes (so a message id in a scope reaches the backend), sent
    /// over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set and to Azure Monitor when
    /// <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is. With neither, nothing is registered: no listener, so the
    /// sources create no activities and the hot paths pay nothing. <paramref name="tracing"/> and
    /// <paramref name="metrics"/> add what only this host has (ASP.NET Core, Npgsql). <paramref name="azureMonitor"/>, when
    /// given, sends to Azure Monitor in place of the plain exporter (the function app uses the ASP.NET Core distro,
    /// which the edge module does not ship); it gets the connection string.
    /// </summary>
    public static TBuilder AddPdmTelemetry<TBuilder>(this TBuilder builder, string serviceName,
        Action<TracerProviderBuilder>? tracing = null, Action<MeterProviderBuilder>? metrics = null,
        Action<OpenTelemetryBuilder, string>? azureMonitor = null)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceName);
        var export = TelemetryExport.From(builder.Configuration);
        if (!export.Any)
        {
            return builder;
        }

        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeScopes = true;
            logging.IncludeFormattedMessage = true;
        });
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithTracing(t =>
            {
                t.AddSource(PdmNames).AddHttpClientInstrumentation();
                tracing?.Invoke(t);
            })
            .WithMetrics(m =>
            {
                m.AddMeter(PdmNames).AddHttpClientInstrumentation();
                metrics?.Invoke(m);
            });
        if (export.Otlp)
        {
            telemetry.UseOtlpExporter();
        }
        if (export.AzureMonitorConnectionString is { } connectionString)
        {
            if (azureMonitor is null)
            {
                telemetry.UseAzureMonitorExporter(options => options.ConnectionString = connectionString);
            }
            else
            {
                azureMonitor(telemetry, connectionString);
            }
        }
        return builder;
    }
}
