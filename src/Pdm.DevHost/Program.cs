using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Pdm.DevHost;
using Pdm.Mqtt;

using var loggerFactory = LoggerFactory.Create(logging => logging.AddSimpleConsole(console =>
{
    console.SingleLine = true;
    console.TimestampFormat = "HH:mm:ss ";
}));
var logger = loggerFactory.CreateLogger("Pdm.DevHost");

if (!DevHostCommandLine.TryParse(args, Environment.GetEnvironmentVariable, out var options, out var error))
{
    await Console.Error.WriteLineAsync(error + Environment.NewLine + Environment.NewLine + DevHostCommandLine.Usage);
    return 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Cancel();
});

try
{
    await using var host = await FunctionsDevHost.StartAsync(options, loggerFactory, stop.Token);
    var stopped = new TaskCompletionSource();
    using (stop.Token.Register(() => stopped.TrySetResult()))
    {
        await stopped.Task;
    }

    logger.Stopping(host.Stats);
    return 0;
}
catch (DevHostException ex)
{
    await Console.Error.WriteLineAsync(ex.Message);
    return 1;
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    return 0;
}

/// <summary>
/// Command line of the standalone dev host. Each option can also come from the environment as
/// PDM_DEVHOST_&lt;OPTION&gt; (e.g. PDM_DEVHOST_MQTT_PASSWORD), so secrets need not sit in argv.
/// </summary>
internal static class DevHostCommandLine
{
    public const string Usage = """
        Usage: Pdm.DevHost --functions-dir DIR [options]
          --functions-dir DIR     function app folder (host.json, function folders, handler)
          --handler CMD           command that starts the handler (default: host.json, else DIR/handler)
          --handler-arg ARG       argument for --handler (repeatable)
          --setting KEY=VALUE     app setting for the handler and %KEY% expansion (repeatable)
          --http-port N           HTTP front end port on 127.0.0.1 (default 7071, 0 = any free port)
          --partitions N          partitions of the simulated IoT Hub endpoint (default 4)
          --mqtt-host HOST        broker with the IoT Hub topic layout (no broker: no Event Hubs events)
          --mqtt-port N           default 1883
          --mqtt-user USER / --mqtt-password PASSWORD / --mqtt-client-id ID (default pdm-devhost; must start with pdm-)
        """;

    private static readonly string[] Repeatable = ["--handler-arg", "--setting"];

    private static readonly string[] SingleValued =
    [
        "--functions-dir", "--handler", "--http-port", "--partitions", "--mqtt-host", "--mqtt-port", "--mqtt-user", "--mqtt-password",
        "--mqtt-client-id",
    ];

    public static bool TryParse(string[] args, Func<string, string?> getEnvironment, out DevHostOptions options, out string error)
    {
        options = null!;
        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                error = $"Unexpected argument '{args[i]}' (options take a value: --name value)";
                return false;
            }

            var list = values.TryGetValue(args[i], out var existing) ? existing : values[args[i]] = [];
            if (list.Count > 0 && !Repeatable.Contains(args[i]))
            {
                error = $"Option {args[i]} given twice";
                return false;
            }

            list.Add(args[++i]);
        }

        string? Get(string name) => values.TryGetValue(name, out var v) ? v[0]
            : getEnvironment("PDM_DEVHOST_" + name[2..].Replace('-', '_').ToUpperInvariant());

        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var setting in values.GetValueOrDefault("--setting") ?? [])
        {
            var equals = setting.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                error = $"--setting '{setting}' must look like KEY=VALUE";
                return false;
            }

            settings[setting[..equals]] = setting[(equals + 1)..];
        }

        if (values.Keys.FirstOrDefault(k => !SingleValued.Contains(k) && !Repeatable.Contains(k)) is { } unknown)
        {
            error = $"Unknown option {unknown}";
            return false;
        }

        if (Get("--functions-dir") is not { } directory)
        {
            error = "--functions-dir is required";
            return false;
        }

        if (!TryInt(Get("--http-port"), 7071, 0, 65535, "--http-port", out var httpPort, out error)
            || !TryInt(Get("--partitions"), 4, 1, 32, "--partitions", out var partitions, out error)
            || !TryInt(Get("--mqtt-port"), 1883, 1, 65535, "--mqtt-port", out var mqttPort, out error))
        {
            return false;
        }

        var mqtt = Get("--mqtt-host") is { } mqttHost
            ? new MqttOptions
            {
                Host = mqttHost,
                Port = mqttPort,
                ClientId = Get("--mqtt-client-id") ?? DevHostOptions.DefaultMqttClientId,
                Username = Get("--mqtt-user"),
                Password = Get("--mqtt-password"),
            }
            : null;

        options = new DevHostOptions
        {
            FunctionAppDirectory = Path.GetFullPath(directory),
            HandlerCommand = Get("--handler"),
            HandlerArguments = values.TryGetValue("--handler-arg", out var handlerArgs) ? handlerArgs : null,
            Environment = settings,
            HttpPort = httpPort,
            PartitionCount = partitions,
            Mqtt = mqtt,
        };
        error = "";
        return true;
    }

    private static bool TryInt(string? text, int fallback, int min, int max, string name, out int value, out string error)
    {
        error = "";
        value = fallback;
        if (text is null)
        {
            return true;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) || value < min || value > max)
        {
            error = $"{name} '{text}' must be a whole number in {min}-{max}";
            return false;
        }

        return true;
    }
}

internal static partial class Log
{
    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 7070, Level = LogLevel.Information, Message = "Stopping; {Stats}")]
    public static partial void Stopping(this ILogger logger, DevHostStats stats);
}
