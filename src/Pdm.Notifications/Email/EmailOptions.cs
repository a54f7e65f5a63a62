using System.Globalization;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Pdm.Notifications.Email;

/// <summary>How the SMTP connection is secured.</summary>
public enum EmailSecurity
{
    /// <summary>Plain connection upgraded with STARTTLS, which must succeed (port 587).</summary>
    StartTls,

    /// <summary>TLS from the first byte (port 465).</summary>
    Tls,

    /// <summary>No TLS: a development relay on this machine only (a password is never sent this way).</summary>
    None,
}

/// <summary>The SMTP relay alert e-mails go through; settings <c>Pdm__Email__*</c>.</summary>
public sealed class EmailOptions
{
    public const string Section = "Pdm:Email";

    public string? Host { get; set; }

    public int Port { get; set; } = 587;

    public EmailSecurity Security { get; set; } = EmailSecurity.StartTls;

    /// <summary>With <see cref="Password"/>, or neither: relays that trust the sender's network need none.</summary>
    public string? UserName { get; set; }

    public string? Password { get; set; }

    /// <summary>The sender: <c>alerts@example.com</c> or <c>PDM alerts &lt;alerts@example.com&gt;</c>.</summary>
    public string? From { get; set; }

    /// <summary>Where an alert is opened, with <c>{tenant}</c> and <c>{alertId}</c> filled in; none: no link in the mail.</summary>
    public string? AlertLink { get; set; }

    /// <summary>Time to connect (TLS included) and for each SMTP command's answer.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time for the whole attempt: connect, authenticate, send, quit.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(20);
}

/// <summary>Checks <see cref="EmailOptions"/> at start, naming each setting at fault and why.</summary>
public sealed class EmailOptionsValidator : IValidateOptions<EmailOptions>
{
    public ValidateOptionsResult Validate(string? name, EmailOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        const string p = "Pdm:Email:";
        if (string.IsNullOrWhiteSpace(options.Host))
        {
            problems.Add($"{p}Host is required: the SMTP relay's host name.");
        }
        else if (Uri.CheckHostName(options.Host.Trim()) == UriHostNameType.Unknown)
        {
            problems.Add($"{p}Host '{options.Host}' is not a host name or address.");
        }
        if (options.Port is < 1 or > 65535)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{p}Port {options.Port} must be 1 to 65535."));
        }
        if (!Enum.IsDefined(options.Security))
        {
            problems.Add($"{p}Security '{options.Security}' must be StartTls, Tls or None.");
        }
        if (string.IsNullOrEmpty(options.UserName) != string.IsNullOrEmpty(options.Password))
        {
            problems.Add($"{p}UserName and {p}Password go together: set both or neither.");
        }
        if (options.Security == EmailSecurity.None && !string.IsNullOrEmpty(options.Password))
        {
            problems.Add($"{p}Password is set but {p}Security is None: a password is only sent over TLS.");
        }
        if (string.IsNullOrWhiteSpace(options.From))
        {
            problems.Add($"{p}From is required: the sender address, e.g. alerts@example.com.");
        }
        else if (!MailboxAddress.TryParse(options.From, out var from) || !from.Address.Contains('@', StringComparison.Ordinal))
        {
            problems.Add($"{p}From '{options.From}' is not an e-mail address.");
        }
        if (options.AlertLink is { Length: > 0 } link && (!Uri.TryCreate(link.Replace("{tenant}", "t", StringComparison.Ordinal)
            .Replace("{alertId}", "a", StringComparison.Ordinal), UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http")))
        {
            problems.Add($"{p}AlertLink '{link}' is not an absolute http(s) URL (placeholders {{tenant}} and {{alertId}}).");
        }
        Range(problems, $"{p}ConnectTimeout", options.ConnectTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(1));
        Range(problems, $"{p}TotalTimeout", options.TotalTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5));
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static void Range(List<string> problems, string setting, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{setting} {value:c} must be {min:c} to {max:c}."));
        }
    }
}
