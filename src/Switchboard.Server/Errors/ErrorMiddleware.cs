using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Switchboard.Core;

namespace Switchboard.Server.Errors;

/// <summary>
/// Turns every error into problem+json: product exceptions by the error table, host request errors by their
/// status, unknown routes and methods into 404 / 405 problems, and anything unexpected into a 500 that is
/// logged with its trace id. Client mistakes are answered, not logged as errors.
/// </summary>
internal sealed class ErrorMiddleware(RequestDelegate next, ILogger<ErrorMiddleware> logger)
{
    private const string InternalDetail = "The hub failed to answer because of a fault on its side (not your request). The trace id identifies it in the server's logs.";

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (SwitchboardException error) when (error.Code != ErrorCode.Internal)
        {
            await Problems.WriteAsync(context, error);
            return;
        }
        catch (BadHttpRequestException bad)
        {
            // Kestrel's status stays (408 for a body slower than Switchboard:Limits:MinRequestBodyBytesPerSecond, 431, …).
            var info = bad.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? ErrorTable.Get(ErrorCode.RequestTooLarge)
                : ErrorTable.Get(ErrorCode.InvalidRequest) with { HttpStatus = bad.StatusCode is >= 400 and < 500 ? bad.StatusCode : StatusCodes.Status400BadRequest };
            await Problems.WriteAsync(context, info, bad.Message);
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return; // the client went away: there is no one to answer
        }
        catch (Exception ex)
        {
            ServerLog.RequestFailed(logger, context.Request.Method, context.Request.Path.Value, Problems.TraceIdOf(context), ex);
            await Problems.WriteAsync(context, ErrorTable.Get(ErrorCode.Internal), InternalDetail);
            return;
        }

        var response = context.Response;
        if (response.HasStarted || response.ContentType is not null || response.ContentLength is > 0 || response.StatusCode < 400)
        {
            return;
        }
        // An error status the framework set without a body (no route, wrong method, …): give it a problem too.
        switch (response.StatusCode)
        {
            case StatusCodes.Status404NotFound:
                await Problems.WriteAsync(context, ErrorTable.Get(ErrorCode.RouteNotFound),
                    $"There is no resource at {context.Request.Path}. The API lives under /v1 (see /docs or /openapi/v1.json).");
                break;
            case StatusCodes.Status405MethodNotAllowed:
                await Problems.WriteAsync(context, ErrorTable.Get(ErrorCode.MethodNotAllowed), $"{context.Request.Method} is not allowed on {context.Request.Path}; see /docs for the methods of each resource.");
                break;
            case StatusCodes.Status415UnsupportedMediaType:
                await Problems.WriteAsync(context, ErrorTable.Get(ErrorCode.UnsupportedMediaType), $"Content-Type '{context.Request.ContentType}' is not accepted on {context.Request.Path}.");
                break;
            default:
                var code = response.StatusCode >= 500 ? ErrorCode.Internal : ErrorCode.InvalidRequest;
                var status = response.StatusCode;
                await Problems.WriteAsync(context, ErrorTable.Get(code) with { HttpStatus = status }, $"The request failed with status {status}.");
                break;
        }
    }
}
