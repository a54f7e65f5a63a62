using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Pdm.IotHub;

/// <summary>IoT Hub shared access signature tokens.</summary>
public static class SasToken
{
    /// <summary>
    /// <c>SharedAccessSignature sr={encoded uri}&amp;sig={signature}&amp;se={expiry}[&amp;skn={policy}]</c>, signed over
    /// <c>{encoded uri}\n{expiry}</c> with the decoded key. The URI is encoded as the C# SDK does (upper-case
    /// <c>%2F</c>) and not lower-cased: device ids are case-sensitive.
    /// </summary>
    /// <param name="resourceUri">Without scheme: <c>{hub}/devices/{deviceId}</c>, <c>{hub}/devices/{deviceId}/modules/{moduleId}</c>, or <c>{hub}/devices</c> for the registry.</param>
    /// <param name="base64Key">A device, module or shared access policy key.</param>
    /// <param name="expiry">When the token stops working; sent as whole seconds since the Unix epoch.</param>
    /// <param name="policyName">The shared access policy name (skn), only for policy keys.</param>
    public static string Create(string resourceUri, string base64Key, DateTimeOffset expiry, string? policyName = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(resourceUri);
        var encodedUri = WebUtility.UrlEncode(resourceUri);
        var expirySeconds = expiry.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var signature = Sign($"{encodedUri}\n{expirySeconds}", base64Key);
        var token = $"SharedAccessSignature sr={encodedUri}&sig={WebUtility.UrlEncode(signature)}&se={expirySeconds}";
        return string.IsNullOrEmpty(policyName) ? token : $"{token}&skn={WebUtility.UrlEncode(policyName)}";
    }

    /// <summary>Base64 of HMAC-SHA256 over the UTF-8 <paramref name="stringToSign"/>, keyed with the base64-decoded key.</summary>
    public static string Sign(string stringToSign, string base64Key)
    {
        ArgumentNullException.ThrowIfNull(stringToSign);
        ArgumentException.ThrowIfNullOrEmpty(base64Key);
        byte[] key;
        try
        {
            key = Convert.FromBase64String(base64Key);
        }
        catch (FormatException ex)
        {
            throw new FormatException("The shared access key is not valid base64.", ex);
        }
        return Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
    }

    /// <summary><c>{hub}/devices/{deviceId}</c>, or with <c>/modules/{moduleId}</c> for a module.</summary>
    public static string ResourceUri(string hubHostName, string deviceId, string? moduleId = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(hubHostName);
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        return moduleId is null ? $"{hubHostName}/devices/{deviceId}" : $"{hubHostName}/devices/{deviceId}/modules/{moduleId}";
    }
}
