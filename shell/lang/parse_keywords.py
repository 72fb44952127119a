"""Keyword statements: if/elseif/else, foreach, while, do/while/until, for, switch,
try/catch/finally, throw/return/exit, break/continue and function/filter.

``KeywordParser.keyword_statement`` parses the statement a keyword starts; the conditions and
bodies it contains come back through the statement hooks that ``parser.Parser`` provides.
PowerShell's parser error ids and texts are kept, and an error at the end of the text is
marked incomplete so that the console asks for more lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from shell.lang import ast
from shell.lang.lexer import ARG
from shell.lang.parse_base import split_variable
from shell.lang.parse_expr import ExpressionParser
from shell.lang.tokens import Kind, Token

KEYWORD = re.compile(
    r"(if|elseif|else|foreach|while|do|for|try|catch|finally|throw|return|exit|break|"
    r"continue|function|filter|until|switch)(?![\w\-.:\\/])", re.IGNORECASE)
CLOSERS = ("", "\n", ";", "|", ")", "}")


class KeywordParser(ExpressionParser):
    def keyword_statement(self) -> ast.Statement | None:
        """The statement at the cursor when it starts with a keyword; None otherwise."""
        match = KEYWORD.match(self.lx.text, self.lx.pos)
        if not match:
            return None
        handler: Callable[[Token], ast.Statement] | None = getattr(
            self, "_kw_" + match.group(1).lower(), None)
        if handler is None:
            raise self.error(f"Unexpected token '{match.group(1)}' in expression or "
                             "statement.", "UnexpectedToken", match.start(), match.end())
        return handler(self.next())

    def _argument_element(self) -> ast.Expr:
        """One command argument (a switch clause's condition); ``parser.Parser`` provides it."""
        raise NotImplementedError

    def _paren_condition(self, keyword: Token) -> ast.Statement:
        if self.char() != "(":
            raise self.error(f"Missing '(' after '{keyword.text}' in {keyword.text} statement.",
                             "MissingOpenParenthesisInIfStatement" if keyword.value.lower()
                             in ("if", "elseif") else "MissingOpenParenthesisAfterKeyword",
                             keyword.end, incomplete=self.char() == "")
        open_token = self.next()
        self.lx.skip_newlines()
        if self.char() in (")", ""):
            raise self.error(f"Missing condition in {keyword.text} statement after "
                             f"'{keyword.text} ('.", "IfStatementMissingCondition",
                             open_token.end, incomplete=self.char() == "")
        condition = self.grouped(self.statement)
        self.lx.skip_newlines()
        if self.char() != ")":
            raise self.error(f"Missing closing ')' after expression in '{keyword.text}' "
                             "statement.", "MissingEndParenthesisAfterStatement", self.lx.pos,
                             incomplete=self.char() == "")
        self.next()
        return condition

    def _block(self, after: Token, what: str) -> ast.StatementList:
        self.lx.skip_newlines()
        if self.char() != "{":
            raise self.error(f"Missing statement block {what}.", "MissingStatementBlock",
                             after.end, incomplete=self.char() == "")
        open_token = self.next()
        return self.grouped(
            lambda: self.statement_list(Kind.RBRACE, open_token))

    def _kw_if(self, keyword: Token) -> ast.Statement:
        clauses = [(self._paren_condition(keyword), self._block(keyword, "after if ( condition )"))]
        else_body = None
        while True:
            saved = self.lx.pos
            self.lx.skip_newlines()
            match = KEYWORD.match(self.lx.text, self.lx.pos)
            word = match.group(1).lower() if match else ""
            if word == "elseif":
                token = self.next()
                clauses.append((self._paren_condition(token),
                                self._block(token, "after elseif ( condition )")))
            elif word == "else":
                token = self.next()
                else_body = self._block(token, "after 'else' keyword")
                break
            else:
                self.lx.pos = saved
                break
        return ast.If(clauses=clauses, else_body=else_body, extent=self.extent(keyword.start))

    def _kw_foreach(self, keyword: Token) -> ast.Statement:
        if self.char() != "(":
            raise self.error("Missing opening '(' after keyword 'foreach'.",
                             "MissingOpenParenthesisAfterKeyword", keyword.end,
                             incomplete=self.char() == "")
        self.next()
        self.lx.skip_newlines()
        token = self.next()
        if token.kind is not Kind.VARIABLE:
            raise self.error("Missing variable name after foreach.",
                             "MissingVariableNameAfterForeach", token.start, token.end,
                             incomplete=token.kind is Kind.EOF)
        scope, name = split_variable(token.value)
        variable = ast.Variable(name=name, scope=scope, extent=token.extent)
        self.lx.skip_newlines()
        word = self.peek()
        if not (word.kind is Kind.IDENT and word.value.lower() == "in"):
            raise self.error("Missing 'in' after variable in foreach loop.",
                             "MissingInInForeach", token.end, incomplete=word.kind is Kind.EOF)
        self.next()
        self.lx.skip_newlines()
        iterable = self.grouped(self.statement)
        self.lx.skip_newlines()
        if self.char() != ")":
            raise self.error("Missing closing ')' after expression in 'foreach' statement.",
                             "MissingEndParenthesisAfterForeach", self.lx.pos,
                             incomplete=self.char() == "")
        self.next()
        body = self._block(keyword, "in foreach loop")
        return ast.Foreach(variable=variable, iterable=iterable, body=body,
                           extent=self.extent(keyword.start))

    def _kw_while(self, keyword: Token) -> ast.Statement:
        condition = self._paren_condition(keyword)
        body = self._block(keyword, "in while loop")
        return ast.While(condition=condition, body=body, extent=self.extent(keyword.start))

    def _kw_do(self, keyword: Token) -> ast.Statement:
        body = self._block(keyword, "in do loop")
        self.lx.skip_newlines()
        match = KEYWORD.match(self.lx.text, self.lx.pos)
        word = match.group(1).lower() if match else ""
        if word not in ("while", "until"):
            raise self.error("Missing while or until in do loop.", "MissingWhileOrUntilInDoWhile",
                             self.lx.pos, incomplete=self.char() == "")
        token = self.next()
        condition = self._paren_condition(token)
        return ast.While(condition=condition, body=body, do=True, until=word == "until",
                         extent=self.extent(keyword.start))

    def _kw_for(self, keyword: Token) -> ast.Statement:
        if self.char() != "(":
            raise self.error("Missing opening '(' after keyword 'for'.",
                             "MissingOpenParenthesisAfterKeyword", keyword.end,
                             incomplete=self.char() == "")
        self.next()
        parts: list[ast.Statement | None] = []
        for closer in (";", ";", ")"):
            self.lx.skip_newlines()
            part = None if self.char() == closer else self.grouped(self.statement)
            self.lx.skip_newlines()
            if self.char() != closer:
                raise self.error(f"Missing closing '{closer}' in for loop.", "MissingForClause",
                                 self.lx.pos, incomplete=self.char() == "")
            self.next()
            parts.append(part)
        body = self._block(keyword, "in for loop")
        return ast.For(init=parts[0], condition=parts[1], step=parts[2], body=body,
                       extent=self.extent(keyword.start))

    def _kw_switch(self, keyword: Token) -> ast.Statement:
        mode, case_sensitive = "exact", False
        self.lx.skip_newlines()
        while self.char() == "-":
            option = self.next(ARG)
            name = self._switch_option(option)
            if name == "casesensitive":
                case_sensitive = True
            else:
                mode = name
            self.lx.skip_newlines()
        subject = self._paren_condition(keyword)
        self.lx.skip_newlines()
        if self.char() != "{":
            raise self.error("Missing opening '{' in switch statement.",
                             "MissingCurlyBraceInSwitchStatement", self.lx.pos,
                             incomplete=self.char() == "")
        open_token = self.next()
        clauses = self._switch_clauses(open_token)
        return ast.Switch(mode=mode, case_sensitive=case_sensitive, subject=subject,
                          clauses=clauses, extent=self.extent(keyword.start))

    def _switch_option(self, option: Token) -> str:
        typed = str(option.value).lstrip("-").rstrip(":").lower()
        names = [name for name in ("regex", "wildcard", "exact", "casesensitive")
                 if typed and name.startswith(typed)]
        if typed and "file".startswith(typed):
            raise self.error("The switch -File option is not supported by imsh.",
                             "InvalidSwitchFlag", option.start, option.end)
        if len(names) != 1:
            raise self.error(f"'{option.text}' is not a valid switch option.",
                             "InvalidSwitchFlag", option.start, option.end)
        return names[0]

    def _switch_clauses(self, open_token: Token) -> list[ast.SwitchClause]:
        clauses: list[ast.SwitchClause] = []
        while True:
            self.lx.skip_newlines()
            while self.char() == ";":
                self.lx.pos += 1
                self.lx.skip_newlines()
            if self.char() == "}":
                self.next()
                break
            if self.char() == "":
                raise self.error("Missing closing '}' in statement block or type definition.",
                                 "MissingEndCurlyBrace", open_token.start, open_token.end,
                                 incomplete=True)
            start = self.lx.pos
            condition: ast.Expr | None = self.grouped(self._argument_element)
            if (isinstance(condition, ast.Constant) and condition.bareword
                    and str(condition.value).lower() == "default"):
                condition = None
            after = self.lx.pos
            self.lx.skip_newlines()
            if self.char() != "{":
                raise self.error("Missing statement block in switch statement clause.",
                                 "MissingSwitchStatementClause", after,
                                 incomplete=self.char() == "")
            body = self._braced_body(self.next())
            clauses.append(ast.SwitchClause(condition=condition, body=body,
                                            extent=self.extent(start)))
        return clauses

    def _braced_body(self, open_token: Token) -> ast.StatementList:
        return self.grouped(lambda: self.statement_list(Kind.RBRACE, open_token))

    def _kw_try(self, keyword: Token) -> ast.Statement:
        body = self._block(keyword, "after 'try'")
        catches: list[ast.CatchClause] = []
        finally_body = None
        while True:
            saved = self.lx.pos
            self.lx.skip_newlines()
            match = KEYWORD.match(self.lx.text, self.lx.pos)
            word = match.group(1).lower() if match else ""
            if word == "catch" and finally_body is None:
                token = self.next()
                types: list[str] = []
                while self.char() == "[":
                    type_token = self.next()
                    if type_token.kind is not Kind.TYPE:
                        raise self.unexpected(type_token)
                    types.append(type_token.value)
                    if self.char() == ",":
                        self.next()
                clause_body = self._block(token, "in catch clause")
                catches.append(ast.CatchClause(types=types, body=clause_body,
                                               extent=self.extent(token.start)))
            elif word == "finally" and finally_body is None:
                token = self.next()
                finally_body = self._block(token, "after 'finally'")
            else:
                self.lx.pos = saved
                break
        if not catches and finally_body is None:
            raise self.error("The Try statement is missing its Catch or Finally block.",
                             "MissingCatchOrFinally", self.lx.pos,
                             incomplete=self.char() == "")
        return ast.Try(body=body, catches=catches, finally_body=finally_body,
                       extent=self.extent(keyword.start))

    def _flow(self, keyword: Token) -> ast.Statement:
        value = None
        if self.char() not in CLOSERS:
            value = self.statement()
        return ast.Flow(keyword=keyword.value.lower(), value=value,
                        extent=self.extent(keyword.start))

    _kw_throw = _kw_return = _kw_exit = _flow

    def _kw_break(self, keyword: Token) -> ast.Statement:
        return ast.Flow(keyword=keyword.value.lower(), extent=keyword.extent)

    _kw_continue = _kw_break

    def _kw_function(self, keyword: Token) -> ast.Statement:
        name = self.next(ARG)
        if name.kind is not Kind.GENERIC or not isinstance(name.value, str):
            raise self.error("Missing name after function keyword.", "MissingNameAfterKeyword",
                             keyword.end, incomplete=name.kind is Kind.EOF)
        params: list[ast.ParamDecl] = []
        if self.char() == "(":
            params = self._param_block()
        self.lx.skip_newlines()
        if self.char() != "{":
            raise self.error("Missing function body in function declaration.",
                             "MissingFunctionBody", self.lx.pos, incomplete=self.char() == "")
        block = self.script_block(self.next())
        if params:
            if block.params:
                raise self.error("A function cannot have both a parameter list after its name "
                                 "and a param block.", "OnlyOneParameterListAllowed",
                                 keyword.start, block.extent.start)
            block.params = params
        if keyword.value.lower() == "filter" and block.process is None:
            # a filter's body is its process block: it runs once per input object
            block.process, block.body = block.body, ast.StatementList(
                statements=[], extent=block.body.extent)
        return ast.FunctionDef(name=name.value, body=block, extent=self.extent(keyword.start))

    _kw_filter = _kw_function
