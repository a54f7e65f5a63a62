using System.Security.Cryptography;
using System.Text;

namespace Pdm.LocalStack;

/// <summary>
/// Password hashes in Mosquitto 2.0's password file format, the one <c>mosquitto_passwd</c> writes:
/// <c>$7$101$&lt;base64 salt&gt;$&lt;base64 PBKDF2-SHA512(password, salt, 101 iterations, 64 bytes)&gt;</c>.
/// </summary>
public static class MosquittoPasswordHash
{
    private const int Iterations = 101;
    private const int SaltBytes = 12;
    private const int HashBytes = 64;
    private const string Prefix = "$7$101$";

    public static string Create(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        return Format(salt, Derive(password, salt));
    }

    /// <summary>True when <paramref name="hash"/> is a <c>$7$</c> hash of <paramref name="password"/>.</summary>
    public static bool Verify(string password, string hash)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(hash);
        var parts = hash.Split('$');
        // "", "7", iterations, salt, hash
        if (parts.Length != 5 || parts[1] != "7" || !int.TryParse(parts[2], out var iterations) || iterations <= 0)
        {
            return false;
        }
        try
        {
            var salt = Convert.FromBase64String(parts[3]);
            var expected = Convert.FromBase64String(parts[4]);
            var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, expected.Length);
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static byte[] Derive(string password, byte[] salt) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, Iterations, HashAlgorithmName.SHA512, HashBytes);

    private static string Format(byte[] salt, byte[] hash) =>
        $"{Prefix}{Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
}
